"""Tables of the billing service, all in schema ``billing``."""

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("billing")
