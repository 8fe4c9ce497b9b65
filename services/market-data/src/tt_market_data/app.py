"""The market-data service's wiring."""

from faststream.asgi import AsgiFastStream

from tt_runtime.service import ServiceRuntime

from .adapters.capitalcom import CapitalComProvider
from .handlers import build_handlers
from .live import LiveFeed
from .service import MarketData
from .settings import Settings


def build(settings: Settings | None = None) -> tuple[ServiceRuntime, MarketData, LiveFeed]:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings)
    service = MarketData(runtime, settings, CapitalComProvider(settings))
    runtime.include(build_handlers(service))
    live = LiveFeed(service)
    if settings.live_on:
        runtime.after_startup = _chain(runtime.after_startup, live.start)  # type: ignore[method-assign]
    runtime.on_shutdown = _chain_first(  # type: ignore[method-assign]
        live.stop, service.provider.aclose, service.reads.close, runtime.on_shutdown
    )
    return runtime, service, live


def _chain(first, then):
    async def run() -> None:
        await first()
        then()

    return run


def _chain_first(*steps):
    async def run() -> None:
        for step in steps:
            await step()

    return run


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    runtime, _, _ = build(settings)
    return runtime.ops_app()
