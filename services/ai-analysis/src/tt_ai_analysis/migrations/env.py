from tt_runtime.migrate import run_env

from tt_ai_analysis.models import metadata

run_env(metadata)
