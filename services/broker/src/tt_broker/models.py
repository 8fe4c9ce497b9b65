"""Tables of the broker service, all in schema ``broker``."""

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("broker")
