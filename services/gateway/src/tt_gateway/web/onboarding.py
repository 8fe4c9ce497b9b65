"""The onboarding wizard: profile → connect a broker → get credits → first bot.

Progress lives in identity's profile (``onboarding_completed``). Steps whose feature arrives with a
later issue say so and can be skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from tt_contracts import registry
from tt_contracts.identity import Profile, ProfileReply, UpdateProfile
from tt_runtime.client import RemoteError, ServiceUnavailable

from ..deps import PageUser, Principal, RuntimeDep
from .brokers import ConnectForm, connect_account
from .forms import error_text, see_other
from .orders.reads import CALL_ERRORS, account_label, list_accounts
from .shell import load_profile, shell
from .templating import render

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    summary: str
    arrives_with: str | None = None  # None: works today


STEPS = [
    Step("profile", "Your profile", "How you want to be addressed, your timezone, currency and risk limits."),
    Step(
        "broker",
        "Connect a broker",
        "Link your Capital.com demo account so bots can trade on it, or start with the paper broker.",
    ),
    Step(
        "credits",
        "Get credits",
        "Credits pay for AI analyses and backtests; new accounts get welcome credits.",
        "the billing issue",
    ),
    Step(
        "bot",
        "Your first bot",
        "Pick a strategy, set its limits, and let it paper-trade first.",
        "the strategy issue",
    ),
]
STEP_KEYS = [s.key for s in STEPS]
CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY", "AUD", "CAD"]
TIMEZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Zurich",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
]


def next_step(done: list[str]) -> Step | None:
    return next((s for s in STEPS if s.key not in done), None)


def _step(key: str) -> Step:
    for s in STEPS:
        if s.key == key:
            return s
    raise HTTPException(404, "no such step")


def profile_from_form(
    current: Profile,
    display_name: str,
    timezone: str,
    base_currency: str,
    risk: str,
    max_positions: str,
    errors: dict[str, str],
) -> Profile | None:
    try:
        risk_value = Decimal(risk.strip() or "1")
        if not (Decimal(0) < risk_value <= Decimal(100)):
            raise InvalidOperation
    except InvalidOperation:
        errors["risk_per_trade_percent"] = "Enter a percentage between 0 and 100, e.g. 1 or 0.5."
        risk_value = current.risk_per_trade_percent
    try:
        positions = int(max_positions.strip() or "5")
        if not 0 <= positions <= 1000:
            raise ValueError
    except ValueError:
        errors["max_open_positions"] = "Enter a whole number between 0 and 1000."
        positions = current.max_open_positions
    if timezone not in TIMEZONES and timezone != current.timezone:
        errors["timezone"] = "Choose a timezone from the list."
    if base_currency not in CURRENCIES and base_currency != current.base_currency:
        errors["base_currency"] = "Choose a currency from the list."
    if len(display_name.strip()) > 120:
        errors["display_name"] = "Use at most 120 characters."
    if errors:
        return None
    return current.model_copy(
        update={
            "display_name": display_name.strip(),
            "timezone": timezone,
            "base_currency": base_currency,
            "risk_per_trade_percent": risk_value,
            "max_open_positions": positions,
        }
    )


async def save_profile(runtime, user_id, profile: Profile) -> ProfileReply:
    reply = await runtime.ask(
        registry.PROFILE_UPDATE, UpdateProfile(producer="gateway", user_id=user_id, profile=profile)
    )
    assert isinstance(reply, ProfileReply)
    return reply


@router.get("/onboarding", response_class=HTMLResponse)
async def onboarding(runtime: RuntimeDep, user: PageUser) -> Response:
    profile = await load_profile(runtime, user)
    done = profile.profile.onboarding_completed if profile else []
    step = next_step(done)
    return see_other(f"/onboarding/{step.key}" if step else "/dashboard")


def _ctx(step: Step, done: list[str], **extra) -> dict:
    return {
        "steps": STEPS,
        "step": step,
        "done": done,
        "index": STEP_KEYS.index(step.key),
        "currencies": CURRENCIES,
        "timezones": TIMEZONES,
        **extra,
    }


async def _connected(runtime, user: Principal, key: str) -> list[str]:
    """For the broker step: labels of the accounts already connected (none when the broker is down)."""
    if key != "broker":
        return []
    try:
        return [account_label(a) for a in await list_accounts(runtime, user) if a.status == "active"]
    except CALL_ERRORS:
        return []


@router.get("/onboarding/{key}", response_class=HTMLResponse)
async def onboarding_step(request: Request, runtime: RuntimeDep, user: PageUser, key: str) -> Response:
    step = _step(key)
    ctx = await shell(runtime, user)
    profile = ctx["profile"]
    done = profile.profile.onboarding_completed if profile else []
    form = profile.profile if profile else Profile()
    connected = await _connected(runtime, user, key)
    return render(
        request,
        "app/onboarding.html",
        {**ctx, **_ctx(step, done, form=form, errors={}, connect=ConnectForm(), connected=connected)},
    )


@router.post("/onboarding/{key}", response_class=HTMLResponse)
async def onboarding_submit(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    key: str,
    action: FormStr = "save",
    display_name: FormStr = "",
    timezone: FormStr = "UTC",
    base_currency: FormStr = "USD",
    risk_per_trade_percent: FormStr = "1",
    max_open_positions: FormStr = "5",
    identifier: FormStr = "",
    api_key: FormStr = "",
    api_key_password: FormStr = "",
    label: FormStr = "",
) -> Response:
    step = _step(key)
    ctx = await shell(runtime, user)
    current = ctx["profile"]
    if current is None:
        return render(
            request,
            "app/onboarding.html",
            {
                **ctx,
                **_ctx(step, [], form=Profile(), errors={}, error=error_text(ServiceUnavailable("identity"))),
            },
            status_code=503,
        )
    done = list(current.profile.onboarding_completed)
    errors: dict[str, str] = {}
    profile = current.profile
    if key == "profile" and action == "save":
        updated = profile_from_form(
            profile, display_name, timezone, base_currency, risk_per_trade_percent, max_open_positions, errors
        )
        if updated is None:
            form = profile.model_copy(update={"display_name": display_name})
            return render(
                request,
                "app/onboarding.html",
                {**ctx, **_ctx(step, done, form=form, errors=errors)},
                status_code=422,
            )
        profile = updated
    if key == "broker" and action == "connect":
        connect = ConnectForm(identifier=identifier, environment="demo", label=label)
        connected, problem = await connect_account(runtime, user, connect, api_key, api_key_password)
        if connected is None:
            return render(
                request,
                "app/onboarding.html",
                {
                    **ctx,
                    **_ctx(step, done, form=profile, errors={}, connect=connect, error=problem, connected=[]),
                },
                status_code=422 if connect.errors else 400,
            )
    if key not in done:
        done.append(key)
    try:
        await save_profile(runtime, user.user_id, profile.model_copy(update={"onboarding_completed": done}))
    except (RemoteError, ServiceUnavailable, ValidationError) as exc:
        return render(
            request,
            "app/onboarding.html",
            {**ctx, **_ctx(step, done, form=profile, errors={}, error=error_text(exc))},
            status_code=422,
        )
    following = next_step(done)
    return see_other(f"/onboarding/{following.key}" if following else "/dashboard?welcome=1")
