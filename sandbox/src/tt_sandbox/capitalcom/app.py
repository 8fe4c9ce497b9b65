"""Wires the FastAPI app: REST under /api/v1, the WebSocket, the admin routes, errors, middlewares."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .errors import ApiError
from .faults import FaultMiddleware

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .simulator import Simulator

PUMP_INTERVAL = 0.1  # wall seconds between market runs for the real and accelerated clocks
_SLASHES = re.compile(r"/{2,}")
_NO_CACHE = "no-cache, no-store, max-age=0, must-revalidate"


class CollapseSlashes:
    """Clients build `//api/v1/...` or `//connect`; the venue serves them, so collapse repeated slashes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "//" in scope["path"]:
            scope = dict(scope, path=_SLASHES.sub("/", scope["path"]))
        await self.app(scope, receive, send)


def create_app(sim: Simulator) -> FastAPI:
    from . import routes_accounts, routes_admin, routes_markets, routes_session, routes_trading

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pump = asyncio.create_task(_pump(sim)) if sim.clock.kind != "stepped" else None
        yield
        if pump:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    app = FastAPI(
        title="Capital.com sandbox",
        docs_url="/_admin/docs",
        openapi_url="/_admin/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.simulator = sim
    for module in (routes_session, routes_accounts, routes_markets, routes_trading):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(routes_admin.router)

    @app.websocket("/connect")
    @app.websocket("/")
    async def stream(websocket: WebSocket) -> None:
        await sim.streams.serve(websocket)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status, headers={"Cache-Control": _NO_CACHE})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"errorCode": "error.invalid.request"}, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        code = "error.not-found" if error.status_code == 404 else f"error.http.{error.status_code}"
        return JSONResponse({"errorCode": code}, status_code=error.status_code)

    @app.middleware("http")
    async def venue_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", _NO_CACHE)
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    app.add_middleware(FaultMiddleware, faults=sim.faults)
    app.add_middleware(CollapseSlashes)
    return app


async def _pump(sim: Simulator) -> None:
    """Keeps the market (triggers, pushes, ping timeouts) moving when nothing steps the clock."""
    while True:
        sim.sync()
        await asyncio.sleep(PUMP_INTERVAL)
