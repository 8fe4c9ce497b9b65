"""Pure rules of the broker: intent states, pre-trade checks, deal matching, the circuit breaker.

No I/O here (a test enforces it): these functions take values and return decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any


class IntentState(StrEnum):
    NEW = "NEW"
    SENDING = "SENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"
    RECONCILED_FILLED = "RECONCILED_FILLED"  # an ambiguous send was found at the venue and linked
    RECONCILED_NOT_PLACED = "RECONCILED_NOT_PLACED"  # an ambiguous send never reached the book


class IntentKind(StrEnum):
    OPEN = "OPEN"
    CLOSE = "CLOSE"
    CANCEL = "CANCEL"


TERMINAL = frozenset(
    {
        IntentState.ACCEPTED,
        IntentState.REJECTED,
        IntentState.RECONCILED_FILLED,
        IntentState.RECONCILED_NOT_PLACED,
    }
)
# Allowed transitions. SENDING → NEW only when the venue provably did nothing (rate limited before send).
TRANSITIONS: dict[IntentState, frozenset[IntentState]] = {
    IntentState.NEW: frozenset({IntentState.SENDING, IntentState.REJECTED}),
    IntentState.SENDING: frozenset(
        {IntentState.ACCEPTED, IntentState.REJECTED, IntentState.UNKNOWN, IntentState.NEW}
    ),
    IntentState.UNKNOWN: frozenset({IntentState.RECONCILED_FILLED, IntentState.RECONCILED_NOT_PLACED}),
}


def can_move(current: IntentState, target: IntentState) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def priority(kind: IntentKind) -> int:
    """Protective exits (close, cancel) are served before new entries."""
    return 1 if kind is IntentKind.OPEN else 0


# --- pre-trade checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DealingRules:
    min_size: Decimal | None = None
    max_size: Decimal | None = None
    size_step: Decimal | None = None
    min_stop_distance: Decimal | None = None  # price units
    margin_factor: Decimal | None = None  # fraction of notional (0.05 = 5 %)
    market_open: bool = True


@dataclass(frozen=True)
class RiskLimits:
    max_position_size: Decimal
    max_open_positions: int
    daily_loss_limit: Decimal  # positive number: stop new entries once today's realised loss reaches it


@dataclass(frozen=True)
class OrderFacts:
    side: str
    size: Decimal
    price: Decimal | None  # current price on the side the order would fill
    stop_level: Decimal | None = None
    stop_distance: Decimal | None = None
    profit_level: Decimal | None = None
    profit_distance: Decimal | None = None


@dataclass(frozen=True)
class Violation:
    reason_code: str
    reason: str


def check_pre_trade(
    order: OrderFacts,
    rules: DealingRules,
    limits: RiskLimits,
    *,
    available: Decimal | None,
    open_positions: int,
    realised_today: Decimal,
    circuit_open: bool = False,
) -> Violation | None:
    """The first rule an order breaks, or None. Each violation becomes an ``order.rejected``."""
    if circuit_open:
        return Violation(
            "circuit_open", "new entries are paused on this account after repeated venue failures"
        )
    if not rules.market_open:
        return Violation("market_closed", "the market is not open for dealing")
    if rules.min_size is not None and order.size < rules.min_size:
        return Violation("size_below_minimum", f"size {order.size} is below the minimum {rules.min_size}")
    if rules.max_size is not None and order.size > rules.max_size:
        return Violation("size_above_maximum", f"size {order.size} is above the maximum {rules.max_size}")
    if rules.size_step and rules.size_step > 0 and (order.size % rules.size_step) != 0:
        return Violation("size_step", f"size {order.size} is not a multiple of {rules.size_step}")
    distance = _stop_distance(order)
    if distance is not None and rules.min_stop_distance is not None and distance < rules.min_stop_distance:
        return Violation(
            "stop_too_close", f"stop distance {distance} is below the minimum {rules.min_stop_distance}"
        )
    if order.size > limits.max_position_size:
        return Violation(
            "risk_max_position_size", f"size {order.size} exceeds your limit {limits.max_position_size}"
        )
    if open_positions >= limits.max_open_positions:
        return Violation(
            "risk_max_open_positions",
            f"{open_positions} positions open; your limit is {limits.max_open_positions}",
        )
    loss = -realised_today
    if loss > 0 and loss >= limits.daily_loss_limit:
        return Violation(
            "risk_daily_loss_limit",
            f"today's realised loss {loss} reached your limit {limits.daily_loss_limit}",
        )
    required = margin_required(order, rules)
    if required is not None and available is not None and required > available:
        return Violation("insufficient_margin", f"margin {required:.2f} exceeds available {available:.2f}")
    return None


def _stop_distance(order: OrderFacts) -> Decimal | None:
    if order.stop_distance is not None:
        return order.stop_distance
    if order.stop_level is not None and order.price is not None:
        return abs(order.price - order.stop_level)
    return None


def margin_required(order: OrderFacts, rules: DealingRules) -> Decimal | None:
    if order.price is None or rules.margin_factor is None:
        return None
    return order.size * order.price * rules.margin_factor


# --- reconciliation: linking ambiguous sends to venue deals -------------------------------------------


@dataclass(frozen=True)
class PendingIntent:
    intent_id: str
    epic: str
    side: str
    size: Decimal
    sent_at: datetime  # venue time


@dataclass(frozen=True)
class VenueDeal:
    deal_id: str
    epic: str
    side: str
    size: Decimal
    created_at: datetime  # venue time
    level: Decimal | None = None


def match_deals(
    pending: list[PendingIntent],
    deals: list[VenueDeal],
    linked: set[str],
    *,
    tolerance: timedelta,
) -> dict[str, VenueDeal]:
    """Link each ambiguous intent to at most one unlinked venue deal with the same epic, direction and
    size, created no earlier than the intent was sent (less the clock tolerance). Oldest intents take
    the oldest deals first; a deal is never linked twice."""
    taken = set(linked)
    result: dict[str, VenueDeal] = {}
    for intent in sorted(pending, key=lambda p: p.sent_at):
        candidates = sorted(
            (
                d
                for d in deals
                if d.deal_id not in taken
                and d.epic == intent.epic
                and d.side == intent.side
                and d.size == intent.size
                and d.created_at >= intent.sent_at - tolerance
            ),
            key=lambda d: d.created_at,
        )
        if candidates:
            result[intent.intent_id] = candidates[0]
            taken.add(candidates[0].deal_id)
    return result


# --- circuit breaker -----------------------------------------------------------------------------------


def circuit_after_failure(
    failures: int, open_until: datetime | None, now: datetime, *, threshold: int, open_for: timedelta
) -> tuple[int, datetime | None]:
    """(failures, open_until) after one more venue failure: the threshold opens the breaker, and a
    failed trial while half-open opens it again at once."""
    failures += 1
    if failures >= threshold or circuit_state(open_until, now) == "half_open":
        return failures, now + open_for
    return failures, open_until


def circuit_is_open(open_until: datetime | None, now: datetime) -> bool:
    return open_until is not None and now < open_until


def circuit_state(open_until: datetime | None, now: datetime) -> str:
    """closed: trading normally | open: new entries paused | half_open: the cool-down is over and the
    next venue call is the trial (a success closes the breaker, a failure opens it again at once)."""
    if open_until is None:
        return "closed"
    return "open" if now < open_until else "half_open"


# --- protection ---------------------------------------------------------------------------------------

STOP_KEYS = ("stop_level", "stop_distance", "trailing_stop", "guaranteed_stop")


def protection_status(protection: dict[str, Any] | None, *, emulated: bool) -> str:
    """native: the venue holds the stop | emulated: this service enforces it | missing: no stop at all.

    A take-profit alone is not protection: nothing limits the loss."""
    if not any((protection or {}).get(k) for k in STOP_KEYS):
        return "missing"
    return "emulated" if emulated else "native"


@dataclass(frozen=True)
class EmulatedExit:
    trigger: str | None  # "stop" | "target": close now
    trailed_stop: Decimal | None = None  # a trailing stop moved to this level


def emulated_exit(
    side: str,
    open_price: Decimal,
    protection: dict[str, Any] | None,
    bid: Decimal,
    ask: Decimal,
) -> EmulatedExit:
    """What a managed (emulated) stop / target / trailing stop does on one quote.

    A long position is valued at the bid, a short one at the ask (the price it would close at);
    distances count from the open price until a trailing stop has moved."""
    p = protection or {}
    buy = side == "BUY"
    mark = bid if buy else ask
    sign = 1 if buy else -1
    stop = _decimal(p.get("stop_level"))
    distance = _decimal(p.get("stop_distance"))
    if stop is None and distance is not None:
        stop = open_price - sign * distance
    target = _decimal(p.get("profit_level"))
    profit_distance = _decimal(p.get("profit_distance"))
    if target is None and profit_distance is not None:
        target = open_price + sign * profit_distance
    if stop is not None and (mark <= stop if buy else mark >= stop):
        return EmulatedExit("stop")
    if target is not None and (mark >= target if buy else mark <= target):
        return EmulatedExit("target")
    if p.get("trailing_stop") and distance is not None:
        trailed = mark - sign * distance
        if stop is None or (trailed > stop if buy else trailed < stop):
            return EmulatedExit(None, trailed)
    return EmulatedExit(None)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# --- OCO: two working orders, the fill of one cancels the other ---------------------------------------


class LegStatus(StrEnum):
    PENDING = "pending"  # not at the venue yet, or its outcome is being reconciled
    WORKING = "working"  # live at the venue
    FILLED = "filled"
    ENDED = "ended"  # rejected, not placed, cancelled or expired without a fill


@dataclass(frozen=True)
class OcoLegState:
    intent_id: str
    leg: int  # 1 the primary order, 2 the OCO leg
    status: LegStatus
    filled_at: datetime | None = None  # venue time of the fill
    position_id: str | None = None  # our open position from this fill, if still open


@dataclass(frozen=True)
class OcoDecision:
    cancel: tuple[str, ...] = ()  # intent ids of working legs to cancel
    close: tuple[str, ...] = ()  # position ids to close: the unwanted second fill
    kept: str | None = None  # the intent whose fill stands when both filled


def resolve_oco(legs: list[OcoLegState]) -> OcoDecision:
    """What the pair needs now. One fill cancels the other leg; a leg that ended without a fill takes
    its partner with it (half a bracket is not what the user asked for); if both filled before we
    could cancel, the later fill (the second leg on a tie) is closed so exactly one position remains."""
    filled = sorted(
        (leg for leg in legs if leg.status is LegStatus.FILLED),
        key=lambda leg: (leg.filled_at is None, leg.filled_at or datetime.min, leg.leg),
    )
    working = tuple(leg.intent_id for leg in legs if leg.status is LegStatus.WORKING)
    if len(filled) >= 2:
        extra = tuple(leg.position_id for leg in filled[1:] if leg.position_id is not None)
        return OcoDecision(close=extra, kept=filled[0].intent_id)
    if filled or any(leg.status is LegStatus.ENDED for leg in legs):
        return OcoDecision(cancel=working)
    return OcoDecision()
