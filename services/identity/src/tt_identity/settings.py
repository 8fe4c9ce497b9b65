"""Settings of the identity service (environment variables; see tt_runtime.settings)."""

from tt_runtime.settings import RuntimeSettings


class Settings(RuntimeSettings):
    service_name: str = "identity"
    service_port: int = 8101
