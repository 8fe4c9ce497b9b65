"""Settings of the chart-render service (environment variables; see tt_runtime.settings)."""

from tt_runtime.settings import RuntimeSettings


class Settings(RuntimeSettings):
    service_name: str = "chart-render"
    service_port: int = 8104
