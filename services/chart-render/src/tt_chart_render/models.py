"""Tables of the chart-render service, all in schema ``chart_render``."""

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("chart_render")
