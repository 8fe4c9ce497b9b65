"""Brokers: the user's connected accounts (session and circuit breaker state, last error), connecting
a Capital.com account, testing and disconnecting it, and each account's risk limits — the built-in
paper broker's too.

Credentials go straight to the broker service; they are never echoed back into a form or logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import SecretStr

from tt_contracts import broker as c
from tt_contracts import registry
from tt_runtime.service import ServiceRuntime

from ..deps import PageUser, Principal, RuntimeDep
from .forms import see_other
from .orders.reads import (
    CALL_ERRORS,
    PAPER,
    PAPER_CHOICE,
    VENUE_TIMEOUT,
    account_label,
    failure_text,
    list_accounts,
    parse_account,
)
from .shell import shell
from .templating import render

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
NOTICES = {
    "connected": "The account is connected. Its positions and balance appear on Orders & positions.",
    "disconnected": "The account is disconnected and its stored credentials are deleted.",
    "limits": "The risk limits are saved.",
}


# --- connecting ---------------------------------------------------------------------------------------


@dataclass
class ConnectForm:
    """What the connect form keeps when it is shown again: never the key or its password."""

    identifier: str = ""
    environment: str = "demo"
    label: str = ""
    errors: dict[str, str] = field(default_factory=dict)


async def connect_account(
    runtime: ServiceRuntime,
    user: Principal,
    form: ConnectForm,
    api_key: str,
    api_key_password: str,
) -> tuple[c.AccountConnectedReply | None, str | None]:
    """Ask the broker to connect; (reply, None), or (None, message) with field errors on ``form``."""
    form.identifier, form.label = form.identifier.strip(), form.label.strip()
    if not form.identifier:
        form.errors["identifier"] = "Enter the email or identifier you sign in to Capital.com with."
    elif len(form.identifier) > 200:
        form.errors["identifier"] = "Use at most 200 characters."
    if not api_key.strip():
        form.errors["api_key"] = "Enter the API key you generated in Capital.com's settings."
    if not api_key_password:
        form.errors["api_key_password"] = "Enter the password you chose for this API key."
    if form.environment not in ("demo", "live"):
        form.errors["environment"] = "Choose demo or live."
    if len(form.label) > 80:
        form.errors["label"] = "Use at most 80 characters."
    if form.errors:
        return None, None
    try:
        reply = await runtime.ask(
            registry.ACCOUNT_CONNECT,
            c.ConnectAccount(
                producer="gateway",
                user_id=user.user_id,
                environment=c.BrokerEnvironment(form.environment),
                identifier=form.identifier,
                api_key=SecretStr(api_key.strip()),
                api_key_password=SecretStr(api_key_password),
                label=form.label,
            ),
            timeout=VENUE_TIMEOUT,
        )
    except CALL_ERRORS as exc:
        return None, failure_text(exc)
    assert isinstance(reply, c.AccountConnectedReply)
    return reply, None


# --- the page -----------------------------------------------------------------------------------------


@dataclass
class AccountCard:
    key: str
    title: str
    view: c.AccountView | None
    limits: c.RiskLimits | None = None
    limits_error: str | None = None
    limits_form: dict[str, str] | None = None  # the typed values after a refused save
    limits_errors: dict[str, str] = field(default_factory=dict)
    test: c.AccountTestReply | None = None
    test_error: str | None = None


async def _limits(runtime: ServiceRuntime, user: Principal, card: AccountCard) -> None:
    try:
        reply = await runtime.ask(
            registry.RISK_LIMITS_GET,
            c.GetRiskLimits(producer="gateway", user_id=user.user_id, account_id=parse_account(card.key)),
        )
    except CALL_ERRORS as exc:
        card.limits_error = failure_text(exc)
        return
    assert isinstance(reply, c.RiskLimitsReply)
    card.limits = reply.limits


async def broker_cards(runtime: ServiceRuntime, user: Principal) -> tuple[list[AccountCard], str | None]:
    """The paper broker first, then every connected (or once connected) account, limits loaded."""
    error = None
    try:
        views = await list_accounts(runtime, user)
    except CALL_ERRORS as exc:
        views, error = [], failure_text(exc)
    cards = [AccountCard(PAPER, PAPER_CHOICE.label, None)]
    cards += [AccountCard(str(v.account_id), account_label(v), v) for v in views]
    await asyncio.gather(*(_limits(runtime, user, card) for card in cards if _active(card)))
    return cards, error


def _active(card: AccountCard) -> bool:
    return card.view is None or card.view.status == "active"


async def brokers_page(
    request: Request,
    runtime: ServiceRuntime,
    user: Principal,
    *,
    connect: ConnectForm | None = None,
    error: str | None = None,
    notice: str | None = None,
    adjust: Callable[[list[AccountCard]], bool] | None = None,
    status_code: int = 200,
) -> Response:
    (ctx, (cards, accounts_error)) = await asyncio.gather(shell(runtime, user), broker_cards(runtime, user))
    if adjust is not None and not adjust(cards):
        error, status_code = "No such account.", 404
    return render(
        request,
        "brokers/index.html",
        {
            **ctx,
            "cards": cards,
            "accounts_error": accounts_error,
            "connect": connect or ConnectForm(),
            "error": error,
            "notice": notice,
        },
        status_code=status_code,
    )


async def owns(runtime: ServiceRuntime, user: Principal, account_id: UUID | None) -> bool:
    """The gateway's own ownership check before asking the broker (which checks again)."""
    if account_id is None:
        return True
    try:
        return any(v.account_id == account_id for v in await list_accounts(runtime, user))
    except CALL_ERRORS:
        return True  # the broker's own check decides; its refusal is shown


def _card(cards: list[AccountCard], key: str) -> AccountCard | None:
    return next((card for card in cards if card.key == key), None)


@router.get("/brokers", response_class=HTMLResponse)
async def brokers(request: Request, runtime: RuntimeDep, user: PageUser, saved: str = "") -> Response:
    return await brokers_page(request, runtime, user, notice=NOTICES.get(saved))


@router.post("/brokers/connect", response_class=HTMLResponse)
async def connect(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    identifier: FormStr = "",
    api_key: FormStr = "",
    api_key_password: FormStr = "",
    environment: FormStr = "demo",
    label: FormStr = "",
) -> Response:
    form = ConnectForm(identifier=identifier, environment=environment, label=label)
    reply, error = await connect_account(runtime, user, form, api_key, api_key_password)
    if reply is None:
        return await brokers_page(
            request, runtime, user, connect=form, error=error, status_code=422 if form.errors else 400
        )
    return see_other("/brokers?saved=connected")


@router.post("/brokers/{account_id}/test", response_class=HTMLResponse)
async def test_account(request: Request, runtime: RuntimeDep, user: PageUser, account_id: UUID) -> Response:
    result: c.AccountTestReply | None = None
    problem: str | None = None
    if not await owns(runtime, user, account_id):
        return await brokers_page(request, runtime, user, error="No such account.", status_code=404)
    try:
        reply = await runtime.ask(
            registry.ACCOUNT_TEST,
            c.TestAccount(producer="gateway", user_id=user.user_id, account_id=account_id),
            timeout=VENUE_TIMEOUT,
        )
        assert isinstance(reply, c.AccountTestReply)
        result = reply
    except CALL_ERRORS as exc:
        problem = failure_text(exc)

    def show(cards: list[AccountCard]) -> bool:
        card = _card(cards, str(account_id))
        if card is not None:
            card.test, card.test_error = result, problem
        return card is not None

    return await brokers_page(request, runtime, user, adjust=show)


@router.get("/brokers/{account_id}/disconnect", response_class=HTMLResponse)
async def confirm_disconnect(
    request: Request, runtime: RuntimeDep, user: PageUser, account_id: UUID
) -> Response:
    ctx = await shell(runtime, user)
    try:
        views = await list_accounts(runtime, user)
    except CALL_ERRORS as exc:
        return await brokers_page(request, runtime, user, error=failure_text(exc), status_code=503)
    view = next((v for v in views if v.account_id == account_id and v.status == "active"), None)
    if view is None:
        return await brokers_page(request, runtime, user, error="No such connected account.", status_code=404)
    return render(request, "brokers/disconnect.html", {**ctx, "account": view, "title": account_label(view)})


@router.post("/brokers/{account_id}/disconnect", response_class=HTMLResponse)
async def disconnect(request: Request, runtime: RuntimeDep, user: PageUser, account_id: UUID) -> Response:
    try:
        await runtime.ask(
            registry.ACCOUNT_DISCONNECT,
            c.DisconnectAccount(producer="gateway", user_id=user.user_id, account_id=account_id),
        )
    except CALL_ERRORS as exc:
        return await brokers_page(request, runtime, user, error=failure_text(exc), status_code=422)
    return see_other("/brokers?saved=disconnected")


# --- risk limits --------------------------------------------------------------------------------------

LIMIT_FIELDS = ("max_position_size", "max_open_positions", "daily_loss_limit")


def limits_from_form(values: dict[str, str], errors: dict[str, str]) -> c.RiskLimits | None:
    """Empty fields keep the service default; numbers must be positive (a loss limit may be 0)."""
    parsed: dict[str, Any] = {}
    for name in ("max_position_size", "daily_loss_limit"):
        text = values[name]
        if not text:
            continue
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if (
            number is None
            or not number.is_finite()
            or number < 0
            or (name == "max_position_size" and number == 0)
        ):
            errors[name] = "Enter a positive number, or leave it empty for the default."
            continue
        parsed[name] = number
    if values["max_open_positions"]:
        try:
            count = int(values["max_open_positions"])
            if not 0 <= count <= 10_000:
                raise ValueError
            parsed["max_open_positions"] = count
        except ValueError:
            errors["max_open_positions"] = "Enter a whole number between 0 and 10000, or leave it empty."
    return None if errors else c.RiskLimits(**parsed)


@router.post("/brokers/{key}/limits", response_class=HTMLResponse)
async def save_limits(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    key: str,
    max_position_size: FormStr = "",
    max_open_positions: FormStr = "",
    daily_loss_limit: FormStr = "",
) -> Response:
    try:
        account_id = parse_account(key)
    except ValueError:
        return await brokers_page(request, runtime, user, error="No such account.", status_code=404)
    values = {
        "max_position_size": max_position_size.strip(),
        "max_open_positions": max_open_positions.strip(),
        "daily_loss_limit": daily_loss_limit.strip(),
    }
    errors: dict[str, str] = {}
    limits = limits_from_form(values, errors)
    problem = None
    if not await owns(runtime, user, account_id):
        return await brokers_page(request, runtime, user, error="No such account.", status_code=404)
    if limits is not None:
        try:
            await runtime.ask(
                registry.RISK_LIMITS_SET,
                c.SetRiskLimits(
                    producer="gateway", user_id=user.user_id, account_id=account_id, limits=limits
                ),
            )
            return see_other("/brokers?saved=limits")
        except CALL_ERRORS as exc:
            problem = failure_text(exc)

    def keep(cards: list[AccountCard]) -> bool:
        card = _card(cards, key)
        if card is not None:
            card.limits_form, card.limits_errors = values, errors
            card.limits_error = problem or card.limits_error
        return card is not None

    return await brokers_page(request, runtime, user, adjust=keep, status_code=422)
