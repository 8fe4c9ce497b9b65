"""Settings of the ai-analysis service (environment variables; see tt_runtime.settings)."""

from tt_runtime.settings import RuntimeSettings


class Settings(RuntimeSettings):
    service_name: str = "ai-analysis"
    service_port: int = 8105
