"""The gateway's wiring: FastAPI with the NATS broker started in its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from tt_runtime.service import ServiceRuntime

from . import __version__, ops, web
from .api import system
from .errors import install_error_handlers
from .handlers import handlers
from .settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings)
    runtime.include(handlers)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Trade Tracker",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    install_error_handlers(app)

    api = APIRouter(prefix="/api/v1")
    api.include_router(system.router)
    app.include_router(api)
    app.include_router(ops.router)
    app.include_router(web.router)
    return app
