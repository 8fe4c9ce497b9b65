from tt_broker.models import metadata
from tt_runtime.migrate import run_env

run_env(metadata)
