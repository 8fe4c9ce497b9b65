"""Orders & positions: the account switcher, summary, open positions, working orders and the ticket.

Every form is a plain POST answered by a redirect (or the page again with field errors); the page's
tables also follow the broker's events live (``live.py``).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from tt_contracts.common import Side
from tt_contracts.market_data import InstrumentView
from tt_runtime.service import ServiceRuntime

from ...deps import PageUser, Principal, RuntimeDep
from ..forms import see_other
from ..shell import shell
from ..templating import render
from . import commands, reads
from .reads import CALL_ERRORS, AccountChoice, failure_text
from .ticket import DEFAULTS, Ticket, check_ticket, new_key, ticket_from, valid_key

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
TABS = [("/orders", "Positions & orders"), ("/orders/history", "History")]


def orders_url(choice: AccountChoice, **params: str) -> str:
    return "/orders?" + urlencode({"account": choice.key, **params})


async def live_parts(runtime: ServiceRuntime, user: Principal, choice: AccountChoice) -> dict[str, Any]:
    """Summary, positions and working orders of one account, each with its own failure message."""

    async def attempt(call) -> tuple[Any, str | None]:
        try:
            return await call, None
        except CALL_ERRORS as exc:
            return None, failure_text(exc)

    async def no_summary() -> None:
        return None  # the paper broker has no venue summary

    summary_call = (
        no_summary() if choice.account_id is None else reads.summary(runtime, user, choice.account_id)
    )
    (summary, summary_error), (positions, positions_error), (groups, orders_error) = await asyncio.gather(
        attempt(summary_call),
        attempt(reads.positions(runtime, user, choice.account_id)),
        attempt(reads.working_orders(runtime, user, choice.account_id)),
    )
    return {
        "summary": summary,
        "summary_error": summary_error,
        "positions": positions or [],
        "positions_error": positions_error,
        "order_groups": groups or [],
        "orders_error": orders_error,
        "choice": choice,
        "row_key": new_key,  # a fresh idempotency key per close/cancel form, made at render time
    }


async def account_choices(runtime: ServiceRuntime, user: Principal) -> tuple[list[AccountChoice], str | None]:
    try:
        return reads.choices_of(await reads.list_accounts(runtime, user)), None
    except CALL_ERRORS as exc:
        return reads.choices_of([]), failure_text(exc)


def no_such_account(request: Request, user: Principal) -> Response:
    return render(
        request,
        "app/error.html",
        {"user": user, "heading": "No such account", "message": "This account is not one of yours."},
        status_code=404,
    )


async def instrument_for(runtime: ServiceRuntime, symbol: str) -> tuple[InstrumentView | None, str | None]:
    if not symbol or not symbol.replace("-", "").replace("_", "").isalnum():
        return None, None
    try:
        return await reads.instrument(runtime, symbol), None
    except CALL_ERRORS as exc:
        return None, failure_text(exc)


async def _sent_intent(runtime, user, choice: AccountChoice, key: str):
    """The intent of a command just sent (None until the broker has recorded it)."""
    if not key or not valid_key(key):
        return None
    try:
        recent = await reads.intents(
            runtime, user, reads.IntentFilters(account_id=choice.account_id, limit=50)
        )
    except CALL_ERRORS:
        return None
    wanted = key
    return next((i for i in recent if i.idempotency_key == wanted), None)


async def orders_page(
    request: Request,
    runtime: ServiceRuntime,
    user: Principal,
    account: str | None,
    *,
    ticket: Ticket | None = None,
    key: str | None = None,
    ticket_error: str | None = None,
    error: str | None = None,
    sent: str = "",
    status_code: int = 200,
) -> Response:
    choices, accounts_error = await account_choices(runtime, user)
    choice = reads.pick(choices, account)
    if choice is None:
        return no_such_account(request, user)
    ticket = ticket or Ticket(dict(DEFAULTS, symbol=request.query_params.get("symbol", "")))
    (ctx, parts, (view, lookup_error), sent_intent) = await asyncio.gather(
        shell(runtime, user),
        live_parts(runtime, user, choice),
        instrument_for(runtime, ticket.text("symbol")),
        _sent_intent(runtime, user, choice, sent),
    )
    return render(
        request,
        "orders/index.html",
        {
            **ctx,
            **parts,
            "tabs": TABS,
            "choices": choices,
            "accounts_error": accounts_error,
            "ticket": ticket,
            "ticket_key": key or new_key(),
            "ticket_error": ticket_error,
            "error": error,
            "instrument": view,
            "lookup_error": lookup_error,
            "sent": sent,
            "sent_intent": sent_intent,
        },
        status_code=status_code,
    )


@router.get("/orders", response_class=HTMLResponse)
async def orders(
    request: Request, runtime: RuntimeDep, user: PageUser, account: str = "", sent: str = ""
) -> Response:
    return await orders_page(request, runtime, user, account or None, sent=sent)


@router.get("/orders/rules", response_class=HTMLResponse)
async def rules_hint(request: Request, runtime: RuntimeDep, user: PageUser, symbol: str = "") -> Response:
    """The dealing-rules hint of the ticket, swapped in by htmx when the symbol changes."""
    view, lookup_error = await instrument_for(runtime, symbol.strip())
    return render(
        request,
        "orders/rules_hint.html",
        {"instrument": view, "lookup_error": lookup_error, "symbol": symbol.strip()},
    )


@router.post("/orders/ticket", response_class=HTMLResponse)
async def place_order(request: Request, runtime: RuntimeDep, user: PageUser) -> Response:
    form = await request.form()
    account = str(form.get("account", ""))
    key = str(form.get("idempotency_key", ""))
    ticket = ticket_from(dict(form))
    choices, _ = await account_choices(runtime, user)
    choice = reads.pick(choices, account)
    if choice is None:
        return no_such_account(request, user)
    if not valid_key(key):
        return await orders_page(
            request,
            runtime,
            user,
            choice.key,
            ticket=ticket,
            ticket_error="This form is out of date. Check the order and send it again.",
            status_code=422,
        )
    view, lookup_error = await instrument_for(runtime, ticket.text("symbol"))
    if lookup_error:
        return await orders_page(
            request,
            runtime,
            user,
            choice.key,
            ticket=ticket,
            key=key,
            ticket_error=f"Nothing was sent: the dealing rules cannot be checked right now. {lookup_error}",
            status_code=503,
        )
    price = await _market_price(runtime, view, ticket)
    order = check_ticket(
        ticket, view.instrument if view else None, view.dealing_rules if view else None, price
    )
    if order is None:
        return await orders_page(request, runtime, user, choice.key, ticket=ticket, key=key, status_code=422)
    try:
        await commands.place(runtime, user, choice.account_id, key, order)
    except CALL_ERRORS as exc:
        return await orders_page(
            request,
            runtime,
            user,
            choice.key,
            ticket=ticket,
            key=key,
            ticket_error=failure_text(exc),
            status_code=503,
        )
    return see_other(orders_url(choice, sent=key))


async def _market_price(
    runtime: ServiceRuntime, view: InstrumentView | None, ticket: Ticket
) -> Decimal | None:
    """The fill price of a market order, needed only to check its absolute stop or target levels."""
    side = ticket.text("side").upper()
    absolute_exits = ticket.text("stop_level") or ticket.text("profit_level")
    if view is None or ticket.text("order_type").upper() != "MARKET" or not absolute_exits:
        return None
    if side not in Side.__members__:
        return None
    return await reads.entry_price(runtime, view, Side(side))


def _size(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip()) if text.strip() else None
    except InvalidOperation:
        raise ValueError from None
    if value is not None and (not value.is_finite() or value <= 0):
        raise ValueError
    return value


@router.post("/orders/positions/{position_id}/close", response_class=HTMLResponse)
async def close_position(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    position_id: UUID,
    account: FormStr = "",
    idempotency_key: FormStr = "",
    size: FormStr = "",
) -> Response:
    choices, _ = await account_choices(runtime, user)
    choice = reads.pick(choices, account)
    if choice is None:
        return no_such_account(request, user)
    try:
        close_size = _size(size)
    except ValueError:
        return await orders_page(
            request,
            runtime,
            user,
            choice.key,
            error="Enter the size to close as a positive number, or leave it empty to close it all.",
            status_code=422,
        )
    if not valid_key(idempotency_key):
        return await orders_page(
            request, runtime, user, choice.key, error="This form is out of date. Try again.", status_code=422
        )
    await commands.close(runtime, user, choice.account_id, idempotency_key, position_id, close_size)
    return see_other(orders_url(choice, sent=idempotency_key))


@router.post("/orders/working/{order_id}/cancel", response_class=HTMLResponse)
async def cancel_order(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    order_id: UUID,
    account: FormStr = "",
    idempotency_key: FormStr = "",
) -> Response:
    choices, _ = await account_choices(runtime, user)
    choice = reads.pick(choices, account)
    if choice is None:
        return no_such_account(request, user)
    if not valid_key(idempotency_key):
        return await orders_page(
            request, runtime, user, choice.key, error="This form is out of date. Try again.", status_code=422
        )
    await commands.cancel(runtime, user, choice.account_id, idempotency_key, order_id)
    return see_other(orders_url(choice, sent=idempotency_key))
