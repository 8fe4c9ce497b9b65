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
    if settings.identity_demo_user_email:
        startup = runtime.after_startup

        async def after_startup() -> None:
            await startup()
            await service.ensure_demo_user()

        runtime.after_startup = after_startup  # type: ignore[method-assign]
    return runtime, service


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    runtime, service = create_service(settings or Settings())
    app = runtime.ops_app()
    app.on_shutdown(service.close)
    return app
