"""Settings of the broker service (environment variables; see tt_runtime.settings)."""

from tt_runtime.settings import RuntimeSettings


class Settings(RuntimeSettings):
    service_name: str = "broker"
    service_port: int = 8102
