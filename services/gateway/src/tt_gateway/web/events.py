"""Live updates over Server-Sent Events: the platform status, and the notification feed.

Each message's data is an HTML fragment; htmx's SSE extension swaps it into the connected element.
Until real notifications arrive, the feed announces services changing state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from ..deps import OptionalUser, RuntimeDep, SettingsDep
from ..system_status import SystemStatus, system_status
from .templating import page_context, templates

router = APIRouter(include_in_schema=False)


def _fragment(request: Request, name: str, ctx: dict) -> str:
    return templates.get_template(name).render(page_context(request, ctx))


def status_changes(before: SystemStatus | None, after: SystemStatus) -> list[dict]:
    """Notifications for services whose state changed since the last look (none on the first look)."""
    if before is None:
        return []
    old = {s.service: s.state for s in before.services}
    changes = []
    for s in after.services:
        if s.service in old and old[s.service] != s.state:
            level = {"up": "success", "degraded": "warning", "down": "error"}[s.state]
            changes.append(
                {"level": level, "title": s.service, "body": f"is {s.state} (was {old[s.service]})"}
            )
    return changes


def _interval(request: Request) -> float:
    return request.app.state.settings.status_stream_interval_seconds


@router.get("/events/status")
async def status_events(request: Request, runtime: RuntimeDep, settings: SettingsDep) -> EventSourceResponse:
    interval = _interval(request)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        while True:
            status = await system_status(runtime, settings.status_timeout_seconds)
            html = _fragment(
                request,
                "partials/status_table.html",
                {"status": status, "checked_at": datetime.now(UTC).strftime("%H:%M:%S")},
            )
            yield ServerSentEvent(data=html)
            await asyncio.sleep(interval)

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})


@router.get("/events/notifications")
async def notification_events(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, user: OptionalUser
) -> EventSourceResponse:
    if user is None:
        raise HTTPException(401, "sign in to receive notifications")
    interval = _interval(request)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        before: SystemStatus | None = None
        while True:
            after = await system_status(runtime, settings.status_timeout_seconds)
            for change in status_changes(before, after):
                html = _fragment(request, "partials/notification.html", {**change, "at": datetime.now(UTC)})
                yield ServerSentEvent(data=html)
            before = after
            await asyncio.sleep(interval)

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})
