"""The gateway's wiring: FastAPI with the NATS broker started in its lifespan, the edge security
middlewares, the JSON API under /api/v1, and the server-rendered web UI."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse

from tt_contracts import registry
from tt_runtime.service import ServiceRuntime

from . import __version__, ops, web
from .api import admin, auth, markets, system, trading
from .auth import oidc
from .auth.tokens import AccessTokenVerifier, JwksCache, jwks_fetcher
from .deps import LoginRequired
from .errors import install_error_handlers
from .handlers import build_handlers
from .live import LiveHub
from .security import CsrfProtection, RateLimiter, SecurityHeaders, SessionRefresh
from .settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings)
    hub = LiveHub()
    runtime.include(build_handlers(hub))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            if settings.ops_port is None:
                yield
            else:
                async with ops.ops_server(app, settings.service_host, settings.ops_port):
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
    app.state.hub = hub
    app.state.settings = settings
    app.state.verifier = AccessTokenVerifier(JwksCache(jwks_fetcher(runtime), settings), settings)
    app.state.auth_limiter = RateLimiter(settings.auth_rate_per_ip_per_minute)
    install_error_handlers(app)

    @app.exception_handler(LoginRequired)
    async def to_sign_in(_request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/sign-in?next={exc.next_path}", status_code=303)

    async def refresh(request):
        return await runtime.ask(registry.TOKEN_REFRESH, request)

    # Outermost last: headers wrap everything, CSRF runs before the session is refreshed.
    app.add_middleware(SessionRefresh, settings=settings, refresh=refresh)
    app.add_middleware(CsrfProtection, settings=settings)
    app.add_middleware(SecurityHeaders, settings=settings)

    api = APIRouter(prefix="/api/v1")
    api.include_router(system.router)
    api.include_router(auth.router)
    api.include_router(admin.router)
    api.include_router(markets.router)
    api.include_router(trading.router)
    app.include_router(api)
    app.include_router(oidc.router)
    if settings.ops_port is None:
        app.include_router(ops.router)
    app.include_router(web.router)
    return app
