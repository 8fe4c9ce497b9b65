from tt_runtime.migrate import run_env

from tt_chart_render.models import metadata

run_env(metadata)
