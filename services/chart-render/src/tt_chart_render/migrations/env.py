from tt_chart_render.models import metadata
from tt_runtime.migrate import run_env

run_env(metadata)
