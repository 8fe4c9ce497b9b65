"""``/api/v1``: the caller's broker accounts, positions, working orders and intent log, and trading
commands. Commands are accepted (202) once they are in the gateway's outbox; the broker's answer
arrives as an event (``GET /api/v1/trading/events``) and in the intent log.

Every command needs an ``Idempotency-Key`` header: repeating a request with the same key never
trades twice. Orders are checked against the instrument's dealing rules before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, Query
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from tt_contracts import broker as c
from tt_contracts.common import Side

from ..deps import CurrentUser, HubDep, Principal, RuntimeDep
from ..live import user_topic
from ..web.orders import commands, reads
from ..web.orders.reads import CALL_ERRORS, PAPER
from ..web.orders.ticket import Ticket, check_ticket, valid_key
from .errors import http_error

router = APIRouter(tags=["trading"])

AccountParam = Annotated[
    str | None,
    Query(description="An account id, or `paper` for the built-in paper broker; omitted: every account"),
]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        description="8–95 characters of [A-Za-z0-9_.:-], unique per command; a retry reuses it",
    ),
]


async def _ask(call):
    try:
        return await call
    except CALL_ERRORS as exc:
        raise http_error(exc) from exc


def _account(value: str | None) -> tuple[UUID | None, bool]:
    """(account id, paper only) from the query; 422 for anything but an id or ``paper``."""
    if not value:
        return None, False
    try:
        return reads.parse_account(value), value == PAPER
    except ValueError:
        raise HTTPException(422, "account_id: an account id or 'paper'") from None


def _key(value: str) -> str:
    if not valid_key(value):
        raise HTTPException(422, "Idempotency-Key: 8–95 characters of letters, digits, _ . : -")
    return value


def _mine(account_id: UUID | None, paper: bool, item_account: UUID | None) -> bool:
    return item_account is None if paper else (account_id is None or item_account == account_id)


@router.get("/accounts", response_model=c.AccountsReply, summary="Your connected broker accounts")
async def accounts(runtime: RuntimeDep, user: CurrentUser):
    return c.AccountsReply(accounts=await _ask(reads.list_accounts(runtime, user)))


@router.get("/positions", response_model=c.PositionsReply, summary="Your open positions")
async def positions(runtime: RuntimeDep, user: CurrentUser, account_id: AccountParam = None):
    account, paper = _account(account_id)
    reply = await _ask(
        runtime.ask(
            c.POSITIONS_LIST, c.ListPositions(producer="gateway", user_id=user.user_id, account_id=account)
        )
    )
    return c.PositionsReply(positions=[p for p in reply.positions if _mine(account, paper, p.account_id)])


@router.get("/orders", response_model=c.OrdersReply, summary="Your working (limit and stop) orders")
async def orders(runtime: RuntimeDep, user: CurrentUser, account_id: AccountParam = None):
    account, paper = _account(account_id)
    reply = await _ask(
        runtime.ask(c.ORDERS_LIST, c.ListOrders(producer="gateway", user_id=user.user_id, account_id=account))
    )
    return c.OrdersReply(orders=[o for o in reply.orders if _mine(account, paper, o.account_id)])


@router.get("/intents", response_model=c.IntentsReply, summary="The intent log: every order decision")
async def intents(
    runtime: RuntimeDep,
    user: CurrentUser,
    account_id: AccountParam = None,
    epic: Annotated[str | None, Query(max_length=64, description="Instrument symbol")] = None,
    side: Side | None = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
    intent_kind: Annotated[str | None, Query(description="place | close | cancel")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    account, paper = _account(account_id)
    found = await _ask(
        reads.intents(
            runtime,
            user,
            reads.IntentFilters(account, epic, side, state, intent_kind, since, until, limit),
        )
    )
    return c.IntentsReply(intents=[i for i in found if _mine(account, paper, i.account_id)])


class ProtectionBody(BaseModel):
    stop_level: Decimal | None = None
    stop_distance: Decimal | None = None
    profit_level: Decimal | None = None
    profit_distance: Decimal | None = None
    trailing_stop: bool = False
    guaranteed_stop: bool = False


class OcoBody(BaseModel):
    side: Side
    order_type: c.OrderType = Field(description="LIMIT or STOP")
    level: Decimal
    stop_distance: Decimal | None = None
    profit_distance: Decimal | None = None


class OrderBody(BaseModel):
    account_id: UUID | None = Field(default=None, description="None: the built-in paper broker")
    symbol: str = Field(description="The instrument's symbol (Capital.com epic), e.g. EURUSD")
    side: Side
    size: Decimal
    order_type: c.OrderType = c.OrderType.MARKET
    level: Decimal | None = Field(default=None, description="Required for LIMIT and STOP orders")
    protection: ProtectionBody = Field(default_factory=ProtectionBody)
    oco: OcoBody | None = Field(default=None, description="A second working order; a fill cancels the other")


class CommandAccepted(BaseModel):
    idempotency_key: str = Field(description="The key the broker records (yours, scoped to your user)")
    status: str = "accepted"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.value if hasattr(value, "value") else str(value)


def _as_form(body: OrderBody) -> dict[str, str]:
    """The body in the ticket's terms, so the API and the web ticket share one set of checks."""
    p, oco = body.protection, body.oco
    form: dict[str, Any] = {
        "symbol": body.symbol,
        "side": body.side,
        "order_type": body.order_type,
        "size": body.size,
        "level": body.level,
        "stop_level": p.stop_level,
        "stop_distance": p.stop_distance,
        "profit_level": p.profit_level,
        "profit_distance": p.profit_distance,
        "trailing_stop": "1" if p.trailing_stop else "",
        "guaranteed_stop": "1" if p.guaranteed_stop else "",
    }
    if oco is not None:
        form.update(
            oco="1",
            oco_side=oco.side,
            oco_order_type=oco.order_type,
            oco_level=oco.level,
            oco_stop_distance=oco.stop_distance,
            oco_profit_distance=oco.profit_distance,
        )
    return {k: _text(v) for k, v in form.items()}


async def _owned(runtime, user: Principal, account_id: UUID | None) -> None:
    if account_id is None:
        return
    views = await _ask(reads.list_accounts(runtime, user))
    if not any(v.account_id == account_id and v.status == "active" for v in views):
        raise HTTPException(404, "no such account")


@router.post(
    "/orders",
    status_code=202,
    response_model=CommandAccepted,
    summary="Place an order",
    responses={422: {"description": "A field breaks the instrument's dealing rules; nothing was sent"}},
)
async def place_order(
    runtime: RuntimeDep, user: CurrentUser, body: OrderBody, idempotency_key: IdempotencyKey
):
    key = _key(idempotency_key)
    await _owned(runtime, user, body.account_id)
    ticket = Ticket(_as_form(body))
    view = await _ask(reads.instrument(runtime, ticket.text("symbol"))) if ticket.text("symbol") else None
    price = None
    if (
        view is not None
        and body.order_type is c.OrderType.MARKET
        and (body.protection.stop_level is not None or body.protection.profit_level is not None)
    ):
        price = await reads.entry_price(runtime, view, body.side)
    order = check_ticket(
        ticket, view.instrument if view else None, view.dealing_rules if view else None, price
    )
    if order is None:
        problems = "; ".join(f"{name}: {text}" for name, text in ticket.errors.items())
        raise HTTPException(422, f"Nothing was sent. {problems}")
    await commands.place(runtime, user, body.account_id, key, order)
    return CommandAccepted(idempotency_key=key)


class CloseBody(BaseModel):
    account_id: UUID | None = Field(default=None, description="None: the built-in paper broker")
    size: Decimal | None = Field(default=None, gt=0, description="None closes the whole position")


@router.post("/positions/{position_id}/close", status_code=202, response_model=CommandAccepted)
async def close_position(
    position_id: UUID,
    body: CloseBody,
    runtime: RuntimeDep,
    user: CurrentUser,
    idempotency_key: IdempotencyKey,
):
    key = _key(idempotency_key)
    await _owned(runtime, user, body.account_id)
    await commands.close(runtime, user, body.account_id, key, position_id, body.size)
    return CommandAccepted(idempotency_key=key)


@router.delete(
    "/orders/{order_id}", status_code=202, response_model=CommandAccepted, summary="Cancel a working order"
)
async def cancel_order(
    order_id: UUID,
    runtime: RuntimeDep,
    user: CurrentUser,
    idempotency_key: IdempotencyKey,
    account_id: AccountParam = None,
):
    key = _key(idempotency_key)
    account, _paper = _account(account_id)
    await _owned(runtime, user, account)
    await commands.cancel(runtime, user, account, key, order_id)
    return CommandAccepted(idempotency_key=key)


@router.get(
    "/trading/events",
    summary="Your broker events, live (Server-Sent Events)",
    response_description="text/event-stream: events named by type (PositionOpened, …) with JSON data",
)
async def trading_events(hub: HubDep, user: CurrentUser) -> EventSourceResponse:
    async def stream() -> AsyncIterator[ServerSentEvent]:
        async with hub.subscribe(user_topic(user.user_id)) as subscription:
            yield ServerSentEvent(event="subscribed", data=json.dumps({"user_id": str(user.user_id)}))
            async for _topic, event in subscription:
                yield ServerSentEvent(event=type(event).__name__, data=event.model_dump_json())

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})
