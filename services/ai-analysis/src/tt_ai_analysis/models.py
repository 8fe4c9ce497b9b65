"""Tables of the ai-analysis service, all in schema ``ai_analysis``."""

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("ai_analysis")
