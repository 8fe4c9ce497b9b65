from tt_runtime.migrate import run_env
from tt_strategy.models import metadata

run_env(metadata)
