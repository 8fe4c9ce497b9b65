"""The identity service's wiring."""

from faststream.asgi import AsgiFastStream

from tt_runtime.service import ServiceRuntime

from .handlers import build_handlers
from .service import IdentityService
from .settings import Settings


def create_service(settings: Settings) -> tuple[ServiceRuntime, IdentityService]:
    runtime = ServiceRuntime(settings)
    service = IdentityService(runtime, settings)
    runtime.include(build_handlers(service))
    return runtime, service


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    runtime, service = create_service(settings or Settings())
    app = runtime.ops_app()
    app.on_shutdown(service.close)
    return app
