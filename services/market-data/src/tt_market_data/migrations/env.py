from tt_market_data.models import metadata
from tt_runtime.migrate import run_env

run_env(metadata)
