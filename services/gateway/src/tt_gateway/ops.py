"""Liveness, readiness and metrics of the gateway process.

With ``ops_port`` set they are served only on that port, by a second server in the same process, so
the public ingress cannot reach /metrics; otherwise the public app includes them.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .deps import RuntimeDep

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.ready()
    ok = all(v == "up" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503)


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(generate_latest(runtime.telemetry.registry), media_type=CONTENT_TYPE_LATEST)


@contextlib.asynccontextmanager
async def ops_server(app: FastAPI, host: str, port: int) -> AsyncIterator[None]:
    """Serve the ops routes on their own port for as long as the gateway runs."""
    ops_app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    ops_app.state.runtime = app.state.runtime
    ops_app.include_router(router)
    server = uvicorn.Server(
        uvicorn.Config(ops_app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # the main server owns them
    task = asyncio.create_task(server.serve(), name="gateway-ops")
    try:
        yield
    finally:
        server.should_exit = True
        await task
