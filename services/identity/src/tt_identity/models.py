"""Tables of the identity service, all in schema ``identity``."""

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("identity")
