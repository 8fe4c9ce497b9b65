"""The signed-in shell: navigation, the caller's profile, and the areas later issues fill in."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from tt_contracts import registry
from tt_contracts.identity import GetProfile, ProfileReply
from tt_runtime.client import RemoteError, ServiceUnavailable
from tt_runtime.service import ServiceRuntime

from ..deps import Principal

STAFF_ROLES = ("admin", "support")


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    icon: str


@dataclass(frozen=True)
class Area:
    """A part of the app whose feature arrives with a later issue: an honest empty state until then."""

    slug: str
    label: str
    icon: str
    arrives_with: str
    blurb: str


AREAS = [
    Area(
        "bots",
        "Bots",
        "⚙",
        "the strategy issue",
        "Create bots from strategies, set their risk limits, and start or stop them.",
    ),
    Area(
        "backtests",
        "Backtests",
        "↺",
        "the strategy issue",
        "Replay a strategy over historical candles before it trades real money.",
    ),
    Area(
        "billing",
        "Billing",
        "¤",
        "the billing issue",
        "Your credit balance, top-ups, and what each analysis and backtest cost.",
    ),
    Area(
        "notifications",
        "Notifications",
        "✉",
        "the notifications issue",
        "Fills, rejections, bot state changes and analysis results, with your delivery preferences.",
    ),
]


BUILT = [
    NavItem("/dashboard", "Dashboard", "⌂"),
    NavItem("/markets", "Markets", "◔"),
    NavItem("/orders", "Orders & positions", "⇅"),
    NavItem("/brokers", "Brokers", "⇄"),
]


def nav_for(user: Principal | None) -> list[NavItem]:
    items = list(BUILT)
    items += [NavItem(f"/{a.slug}", a.label, a.icon) for a in AREAS]
    items.append(NavItem("/settings", "Settings", "☰"))
    if user is not None and user.roles.intersection(STAFF_ROLES):
        items.append(NavItem("/admin", "Admin", "⚑"))
    return items


async def load_profile(runtime: ServiceRuntime, user: Principal) -> ProfileReply | None:
    """The caller's profile, or None when identity does not answer (the page still renders)."""
    try:
        reply = await runtime.ask(registry.PROFILE_GET, GetProfile(producer="gateway", user_id=user.user_id))
    except (RemoteError, ServiceUnavailable, ValidationError):
        return None
    assert isinstance(reply, ProfileReply)
    return reply


async def shell(runtime: ServiceRuntime, user: Principal, **ctx) -> dict:
    profile = ctx.pop("profile", None) or await load_profile(runtime, user)
    return {"user": user, "profile": profile, "nav": nav_for(user), **ctx}
