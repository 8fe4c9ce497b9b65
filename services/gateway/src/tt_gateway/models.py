"""Tables of the gateway service, all in schema ``gateway``."""

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("gateway")
