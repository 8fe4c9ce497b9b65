"""Settings of the market-data service (environment variables; see tt_runtime.settings)."""

from tt_runtime.settings import RuntimeSettings


class Settings(RuntimeSettings):
    service_name: str = "market-data"
    service_port: int = 8103
