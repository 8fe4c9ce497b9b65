"""Jinja2 rendering for the pages: every template sees ``csp_nonce``, ``csrf_token``, ``user`` and
``settings`` without each route passing them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def page_context(request: Request, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    state = request.state
    base: dict[str, Any] = {
        "csp_nonce": getattr(state, "csp_nonce", ""),
        "csrf_token": getattr(state, "csrf_token", ""),
        "user": getattr(state, "user", None),
        "settings": request.app.state.settings,
        "path": request.url.path,
        "htmx_request": request.headers.get("HX-Request") == "true",
    }
    base.update(ctx or {})
    return base


def render(
    request: Request,
    name: str,
    ctx: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``name`` with the request's security context. ``ctx['user']`` overrides the state's."""
    return templates.TemplateResponse(
        request, name, page_context(request, ctx), status_code=status_code, headers=headers
    )


def _duration(seconds: float | int | None) -> str:
    if seconds is None:
        return "–"
    s = int(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _datetime(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "–"


templates.env.filters["duration"] = _duration
templates.env.filters["dt"] = _datetime
