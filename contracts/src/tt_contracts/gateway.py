"""gateway: facts from inbound webhooks."""

from __future__ import annotations

from pydantic import Field

from ._base import Event
from .routing import cmd, evt, req  # noqa: F401


class StripeWebhookReceived(Event):
    """A Stripe event whose signature the gateway verified on the raw body. ``message_id`` is derived
    from the Stripe event id, so redeliveries de-duplicate on the stream and in billing's inbox."""

    stripe_event_id: str = Field(pattern=r"^evt_[A-Za-z0-9_]+$")
    event_type: str
    payload: dict = Field(description="The verified Stripe event object as received")


# --- routes ------------------------------------------------------------------------------------------

STRIPE_WEBHOOK_RECEIVED = evt(
    "gateway",
    "stripe-webhook",
    "received",
    StripeWebhookReceived,
    ["billing"],
    summary="Signature-verified Stripe event",
)
