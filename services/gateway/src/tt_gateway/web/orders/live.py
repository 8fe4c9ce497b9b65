"""The Orders page live: the user's broker events from the hub, as HTML over Server-Sent Events.

Each message is one activity line (swapped into the activity list) plus the account's summary,
positions and working orders re-read from the broker as out-of-band swaps, so the tables always
show the broker's state rather than a client-side guess.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from tt_contracts.broker import AccountConnected, AccountDisconnected

from ...deps import HubDep, OptionalUser, RuntimeDep
from ...live import user_topic
from ..templating import page_context, templates
from . import reads
from .display import describe
from .pages import account_choices, live_parts

router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, ctx: dict) -> str:
    return templates.get_template(name).render(page_context(request, ctx))


@router.get("/orders/events")
async def order_events(
    request: Request, runtime: RuntimeDep, hub: HubDep, user: OptionalUser, account: str = ""
) -> EventSourceResponse:
    if user is None:
        raise HTTPException(401, "sign in to follow your orders")
    choices, _ = await account_choices(runtime, user)
    choice = reads.pick(choices, account or None)
    if choice is None:
        raise HTTPException(404, "no such account")

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async with hub.subscribe(user_topic(user.user_id)) as subscription:
            # Subscribed: say so (the page shows it, and a client knows nothing is missed from here).
            yield ServerSentEvent(data=_render(request, "orders/live_state.html", {"connected": True}))
            async for _topic, event in subscription:
                if getattr(event, "account_id", None) != choice.account_id and not _about_accounts(event):
                    continue
                parts = await live_parts(runtime, user, choice)
                html = _render(
                    request,
                    "orders/live_update.html",
                    {**parts, "line": describe(event), "at": datetime.now(UTC), "oob": True},
                )
                yield ServerSentEvent(data=html)

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})


def _about_accounts(event: object) -> bool:
    """Connecting or disconnecting an account concerns every view of the page (the switcher)."""
    return isinstance(event, AccountConnected | AccountDisconnected)
