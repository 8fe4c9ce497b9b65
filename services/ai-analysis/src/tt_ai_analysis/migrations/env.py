from tt_ai_analysis.models import metadata
from tt_runtime.migrate import run_env

run_env(metadata)
