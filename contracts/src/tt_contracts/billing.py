"""billing: credits, holds, purchases."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field, HttpUrl

from ._base import Command, Credits, Event, Money, Reply, Request, UserScoped, UtcDatetime
from .routing import cmd, evt, req


class CreateHold(Command, UserScoped):
    """Reserve credits for one piece of work. Keyed by ``idempotency_key``: a replay reserves once."""

    hold_id: UUID
    idempotency_key: str = Field(min_length=8, max_length=128)
    amount: Credits = Field(gt=0)
    purpose: str = Field(max_length=120)
    expires_in_seconds: int = Field(default=900, ge=10, le=86_400)


class CaptureHold(Command, UserScoped):
    hold_id: UUID
    amount: Credits | None = Field(default=None, ge=0, description="None captures the full hold")


class ReleaseHold(Command, UserScoped):
    hold_id: UUID
    reason: str = ""


class HoldCreated(Event, UserScoped):
    hold_id: UUID
    amount: Credits
    available_after: Credits
    expires_at: UtcDatetime


class HoldRejected(Event, UserScoped):
    hold_id: UUID
    amount: Credits
    reason: str = Field(description="e.g. 'insufficient_credits'")


class HoldCaptured(Event, UserScoped):
    hold_id: UUID
    amount: Credits


class HoldReleased(Event, UserScoped):
    hold_id: UUID
    amount: Credits
    reason: str = ""


class CreditsGranted(Event, UserScoped):
    """Credits entered the user's balance (welcome grant, purchase, refund of a hold, admin)."""

    grant_id: UUID
    amount: Credits
    reason: str
    balance_after: Credits


class CreateCheckout(Request, UserScoped):
    package_id: str = Field(min_length=1, max_length=64)
    success_url: HttpUrl
    cancel_url: HttpUrl


class CheckoutReply(Reply):
    checkout_session_id: str
    url: HttpUrl


class GetBalance(Request, UserScoped):
    pass


class BalanceReply(Reply):
    balance: Credits
    held: Credits
    available: Credits
    currency_value: Money | None = None


# --- routes ------------------------------------------------------------------------------------------

HOLD_CREATE = cmd("billing", "hold", "create", CreateHold, ["strategy"])
HOLD_CAPTURE = cmd("billing", "hold", "capture", CaptureHold, ["strategy"])
HOLD_RELEASE = cmd("billing", "hold", "release", ReleaseHold, ["strategy"])
HOLD_CREATED = evt("billing", "hold", "created", HoldCreated, ["strategy"])
HOLD_REJECTED = evt("billing", "hold", "rejected", HoldRejected, ["strategy", "gateway"])
HOLD_CAPTURED = evt("billing", "hold", "captured", HoldCaptured, ["strategy", "gateway"])
HOLD_RELEASED = evt("billing", "hold", "released", HoldReleased, ["strategy", "gateway"])
CREDITS_GRANTED = evt("billing", "credits", "granted", CreditsGranted, ["gateway"])
CHECKOUT_CREATE = req(
    "billing",
    "checkout",
    "create",
    CreateCheckout,
    CheckoutReply,
    ["gateway"],
    "Start a Stripe Checkout session for a credit package",
)
BALANCE_GET = req("billing", "balance", "get", GetBalance, BalanceReply, ["gateway", "strategy"])
