"""Static files: our own CSS/JS, and the front-end packages from ``node_modules`` (installed by
``npm ci``, never committed): htmx, and lightweight-charts for the markets pages.

Served through routes rather than mounts so the web router stays one ``include_router``.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# services/gateway/node_modules in the source tree; GATEWAY_VENDOR_*_DIR override (e.g. in an image).
_NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
VENDOR_HTMX_DIR = Path(os.environ.get("GATEWAY_VENDOR_HTMX_DIR", _NODE_MODULES / "htmx.org" / "dist"))
VENDOR_CHARTS_DIR = Path(
    os.environ.get("GATEWAY_VENDOR_CHARTS_DIR", _NODE_MODULES / "lightweight-charts" / "dist")
)
# The standalone build defines ``window.LightweightCharts``; pages load it with a plain script tag.
CHARTS_SCRIPT = "/static/vendor/lightweight-charts/lightweight-charts.standalone.production.js"

_own = StaticFiles(directory=STATIC_DIR, check_dir=False)
_htmx = StaticFiles(directory=VENDOR_HTMX_DIR, check_dir=False)
_charts = StaticFiles(directory=VENDOR_CHARTS_DIR, check_dir=False)


def _is_dir(files: StaticFiles) -> bool:
    return Path(str(files.directory)).is_dir()


async def _serve(files: StaticFiles, path: str, request: Request, cache: str) -> Response:
    if not files.all_directories or not _is_dir(files):
        raise HTTPException(404, "Not Found")
    try:
        response = await files.get_response(path, request.scope)
    except StarletteHTTPException as exc:
        raise HTTPException(exc.status_code, "Not Found") from exc
    response.headers.setdefault("Cache-Control", cache)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/static/vendor/htmx/{path:path}")
async def vendor_htmx(path: str, request: Request) -> Response:
    return await _serve(_htmx, path, request, "public, max-age=86400")


@router.get("/static/vendor/lightweight-charts/{path:path}")
async def vendor_charts(path: str, request: Request) -> Response:
    return await _serve(_charts, path, request, "public, max-age=86400")


@router.get("/static/{path:path}")
async def own_static(path: str, request: Request) -> Response:
    return await _serve(_own, path, request, "public, max-age=300")


@router.get("/favicon.ico")
async def favicon(request: Request) -> Response:
    return await _serve(_own, "img/favicon.svg", request, "public, max-age=86400")


def htmx_available() -> bool:
    return (VENDOR_HTMX_DIR / "htmx.min.js").is_file()
