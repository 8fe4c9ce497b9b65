"""Landing, status, dashboard and the areas that later issues fill in."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..deps import OptionalUser, PageUser, RuntimeDep, SettingsDep
from ..system_status import system_status
from .onboarding import STEPS
from .shell import AREAS, shell
from .templating import render

router = APIRouter(include_in_schema=False)


def _now() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")


@router.get("/", response_class=HTMLResponse)
async def landing(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, user: OptionalUser
) -> Response:
    status = await system_status(runtime, settings.status_timeout_seconds)
    return render(request, "landing.html", {"status": status, "checked_at": _now(), "user": user})


@router.get("/status", response_class=HTMLResponse)
async def status_page(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, user: OptionalUser
) -> Response:
    status = await system_status(runtime, settings.status_timeout_seconds)
    return render(request, "status.html", {"status": status, "checked_at": _now(), "user": user})


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, user: PageUser, welcome: str = ""
) -> Response:
    ctx = await shell(runtime, user)
    status = await system_status(runtime, settings.status_timeout_seconds)
    done = ctx["profile"].profile.onboarding_completed if ctx["profile"] else [s.key for s in STEPS]
    remaining = [s for s in STEPS if s.key not in done]
    return render(
        request,
        "app/dashboard.html",
        {
            **ctx,
            "status": status,
            "checked_at": _now(),
            "areas": AREAS,
            "steps": STEPS,
            "remaining": remaining,
            "welcome": bool(welcome),
        },
    )


def _area_route(slug: str):
    area = next(a for a in AREAS if a.slug == slug)

    async def page(request: Request, runtime: RuntimeDep, user: PageUser) -> Response:
        return render(request, "app/area.html", {**await shell(runtime, user), "area": area})

    page.__name__ = f"area_{slug}"
    return page


for _area in AREAS:
    router.add_api_route(
        f"/{_area.slug}", _area_route(_area.slug), methods=["GET"], response_class=HTMLResponse
    )
