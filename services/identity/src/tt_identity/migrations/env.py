from tt_identity.models import metadata
from tt_runtime.migrate import run_env

run_env(metadata)
