"""How trading values read on the pages: exact numbers, and one line per live broker event."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tt_contracts import broker as c

from ..templating import templates
from .ticket import plain

PROTECTION_BADGES = {
    "native": ("ok", "native", "The venue holds the stop"),
    "emulated": ("warn", "emulated", "The platform watches the price and closes the position"),
    "missing": ("danger", "missing", "No stop protects this position"),
}


def protection_badge(status: str) -> tuple[str, str, str]:
    """(badge class, label, explanation) of a position's protection status."""
    return PROTECTION_BADGES.get(status, ("", status, ""))


def number(value: Decimal | int | None) -> str:
    """Exact, without exponent or trailing zeros; a dash for no value."""
    if value is None:
        return "–"
    return plain(Decimal(value))


def signed(value: Decimal | None) -> str:
    if value is None:
        return "–"
    return ("+" if value > 0 else "") + number(value)


def protection_text(p: c.Protection) -> list[str]:
    parts = []
    if p.stop_level is not None:
        parts.append(f"stop {number(p.stop_level)}")
    if p.stop_distance is not None:
        parts.append(f"stop −{number(p.stop_distance)}")
    if p.profit_level is not None:
        parts.append(f"target {number(p.profit_level)}")
    if p.profit_distance is not None:
        parts.append(f"target +{number(p.profit_distance)}")
    if p.trailing_stop:
        parts.append("trailing")
    if p.guaranteed_stop:
        parts.append("guaranteed")
    return parts


@dataclass(frozen=True)
class EventLine:
    level: str  # success | warning | error | info
    title: str
    body: str


def _deal(side: Any, size: Decimal, instrument: Any) -> str:
    return f"{side.value} {number(size)} {instrument.symbol}"


def describe(event: Any) -> EventLine:
    """One readable line for a broker event of the user's."""
    match event:
        case c.OrderAccepted():
            return EventLine(
                "info",
                "Order accepted",
                f"{_deal(event.side, event.size, event.instrument)} ({event.order_type.value.lower()})",
            )
        case c.OrderRejected():
            return EventLine("error", "Order rejected", f"{event.reason} ({event.reason_code})")
        case c.OrderFilled():
            return EventLine(
                "success",
                "Order filled",
                f"{_deal(event.side, event.size, event.instrument)} at {number(event.price)}",
            )
        case c.OrderCancelled():
            return EventLine("info", "Order cancelled", event.reason or "The working order is cancelled.")
        case c.PositionOpened():
            return EventLine(
                "success",
                "Position opened",
                f"{_deal(event.side, event.size, event.instrument)} at {number(event.open_price)}",
            )
        case c.PositionChanged():
            return EventLine(
                "info", "Position changed", f"{event.instrument.symbol} size {number(event.size)}"
            )
        case c.PositionClosed():
            return EventLine(
                "success",
                "Position closed",
                f"{event.instrument.symbol} at {number(event.close_price)}, "
                f"P&L {signed(event.realized_pnl)} {event.currency}",
            )
        case c.BalanceChanged():
            return EventLine(
                "info",
                "Balance",
                f"{number(event.balance)} {event.currency}, P&L {signed(event.profit_loss)}",
            )
        case c.AccountConnected():
            return EventLine("success", "Account connected", f"{event.broker} {event.environment.value}")
        case c.AccountDisconnected():
            return EventLine("warning", "Account disconnected", "Trading on it has stopped.")
    return EventLine("info", type(event).__name__, "")


templates.env.filters.setdefault("number", number)
templates.env.filters.setdefault("signed", signed)
templates.env.filters.setdefault("protection_text", protection_text)
templates.env.filters.setdefault("protection_badge", protection_badge)
