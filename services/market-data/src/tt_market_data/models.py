"""Tables of the market-data service, all in schema ``market_data``."""

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("market_data")
