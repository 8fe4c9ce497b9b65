from tt_runtime.migrate import run_env

from tt_gateway.models import metadata

run_env(metadata)
