"""The broker service's wiring."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from tt_runtime.service import ServiceRuntime

from .handlers import build_handlers
from .service import BrokerService
from .settings import Settings


class BrokerRuntime(ServiceRuntime):
    """The runtime plus the broker's background work (executors, polling, reconciliation)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.service_impl = BrokerService(self, settings)
        self.include(build_handlers(self.service_impl))

    async def after_startup(self) -> None:
        await super().after_startup()
        await self.service_impl.start()

    async def on_shutdown(self) -> None:
        await self.service_impl.stop()
        await super().on_shutdown()


def create_runtime(settings: Settings | None = None) -> BrokerRuntime:
    return BrokerRuntime(settings or Settings())


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    return create_runtime(settings).ops_app()
