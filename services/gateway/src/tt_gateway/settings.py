"""Settings of the gateway (environment variables; see tt_runtime.settings)."""

from tt_runtime.settings import RuntimeSettings


class Settings(RuntimeSettings):
    service_name: str = "gateway"
    service_port: int = 8000
    status_timeout_seconds: float = 1.5
    public_url: str = "http://127.0.0.1:8000"
