"""Tables of the strategy service, all in schema ``strategy``."""

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("strategy")
