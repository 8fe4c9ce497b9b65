"""The adapter interface every venue implements, and the neutral values it speaks.

Errors say what the caller must do:

* ``VenueTransient`` — nothing happened at the venue (outage before sending, rate limited): retry later;
* ``VenuePermanent`` — the venue refused the request as invalid (validation, dealing rule, credentials);
* ``VenueRejected`` — the venue processed a trade and refused it (confirm REJECTED);
* ``VenueAmbiguous`` — a trade request may have executed: reconcile, never re-send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from ..domain import DealingRules


class VenueError(Exception):
    code = "venue_error"

    def __init__(self, message: str, *, code: str | None = None, detail: dict[str, Any] | None = None):
        super().__init__(message)
        if code:
            self.code = code
        self.detail = detail or {}


class VenueTransient(VenueError):
    code = "venue_unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class VenuePermanent(VenueError):
    code = "venue_invalid"


class VenueAuthError(VenuePermanent):
    code = "credentials_refused"


class VenueRejected(VenueError):
    code = "venue_rejected"


class VenueAmbiguous(VenueError):
    code = "ambiguous"

    def __init__(self, message: str, *, deal_reference: str | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.deal_reference = deal_reference


def describe(exc: BaseException) -> str:
    """A short, secret-free account of a failure for users: the error code and HTTP status, never the
    venue's text (which may echo request details)."""
    if isinstance(exc, VenueError):
        status = exc.detail.get("status")
        return (exc.code + (f" (HTTP {status})" if status else ""))[:200]
    return type(exc).__name__[:200]


@dataclass(frozen=True)
class ProtectionSpec:
    stop_level: Decimal | None = None
    stop_distance: Decimal | None = None
    profit_level: Decimal | None = None
    profit_distance: Decimal | None = None
    trailing_stop: bool = False
    guaranteed_stop: bool = False


def protection_json(spec: ProtectionSpec) -> dict[str, Any]:
    """The JSON form stored with intents and positions: set fields only, Decimals as strings."""
    return {
        k: (str(v) if isinstance(v, Decimal) else v)
        for k, v in spec.__dict__.items()
        if v not in (None, False)
    }


@dataclass(frozen=True)
class OrderSpec:
    epic: str
    side: str  # BUY | SELL
    size: Decimal
    order_type: str = "MARKET"  # MARKET | LIMIT | STOP
    level: Decimal | None = None
    protection: ProtectionSpec = field(default_factory=ProtectionSpec)


@dataclass(frozen=True)
class Fill:
    """The venue's answer to a trade: ``deal_id`` is the position (market) or working order id."""

    deal_reference: str | None
    deal_id: str
    level: Decimal | None
    size: Decimal | None
    raw: dict[str, Any] = field(default_factory=dict)
    profit: Decimal | None = None


@dataclass(frozen=True)
class VenuePosition:
    deal_id: str
    epic: str
    side: str
    size: Decimal
    level: Decimal
    created_at: datetime | None
    upl: Decimal | None = None
    currency: str | None = None
    bid: Decimal | None = None
    offer: Decimal | None = None
    protection: ProtectionSpec = field(default_factory=ProtectionSpec)
    working_order_id: str | None = None  # the working order this position came from, if any

    @property
    def close_price(self) -> Decimal | None:
        """The price the position would close at now: bid for a long, offer for a short."""
        return self.bid if self.side == "BUY" else self.offer


@dataclass(frozen=True)
class VenueWorkingOrder:
    deal_id: str
    epic: str
    side: str
    size: Decimal
    level: Decimal
    order_type: str
    created_at: datetime | None


@dataclass(frozen=True)
class VenueActivity:
    deal_id: str
    epic: str
    side: str | None
    size: Decimal | None
    level: Decimal | None
    at: datetime
    kind: str  # POSITION | WORKING_ORDER | ...
    status: str
    source: str | None


@dataclass(frozen=True)
class AccountSnapshot:
    currency: str
    balance: Decimal
    available: Decimal
    margin: Decimal
    profit_loss: Decimal
    venue_account_id: str | None = None


@dataclass(frozen=True)
class MarketInfo:
    epic: str
    rules: DealingRules
    bid: Decimal | None
    offer: Decimal | None


class BrokerAdapter(Protocol):
    """One trading account at one venue. Trade methods send at most one request each."""

    async def validate(self) -> AccountSnapshot: ...
    async def account_summary(self) -> AccountSnapshot: ...
    async def market_info(self, epic: str) -> MarketInfo: ...
    async def venue_time(self) -> datetime: ...

    async def place(self, order: OrderSpec) -> Fill: ...
    async def confirm(self, deal_reference: str) -> Fill: ...
    async def close(self, deal_id: str, size: Decimal | None = None) -> Fill: ...
    async def amend(self, deal_id: str, protection: ProtectionSpec) -> Fill: ...
    async def cancel(self, deal_id: str) -> Fill: ...

    async def positions(self) -> list[VenuePosition]: ...
    async def working_orders(self) -> list[VenueWorkingOrder]: ...
    async def activity(self, start: datetime, end: datetime) -> list[VenueActivity]: ...

    async def aclose(self) -> None: ...
