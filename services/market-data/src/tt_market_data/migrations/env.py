from tt_runtime.migrate import run_env

from tt_market_data.models import metadata

run_env(metadata)
