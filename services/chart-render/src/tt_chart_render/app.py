"""The chart-render service's wiring."""

from faststream.asgi import AsgiFastStream

from tt_runtime.service import ServiceRuntime

from .handlers import handlers
from .settings import Settings


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    runtime = ServiceRuntime(settings or Settings())
    runtime.include(handlers)
    return runtime.ops_app()
