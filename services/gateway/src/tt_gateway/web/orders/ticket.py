"""The order ticket: form text → a checked order, or field errors. Pure: no I/O.

The instrument's dealing rules (from market-data) are checked here, before anything is sent, so a
size below the minimum or a stop too close never leaves the gateway. The broker checks again.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from tt_contracts.broker import OcoLeg, OrderType, Protection
from tt_contracts.common import InstrumentRef, Side
from tt_contracts.market_data import DealingRulesView

SYMBOL_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,120}$")  # the broker adds a suffix to an OCO leg's key
WORKING = (OrderType.LIMIT, OrderType.STOP)

# Every field of the ticket form, with its value when the form is first shown.
DEFAULTS: dict[str, str] = {
    "symbol": "",
    "side": "BUY",
    "order_type": "MARKET",
    "size": "",
    "level": "",
    "stop_level": "",
    "stop_distance": "",
    "profit_level": "",
    "profit_distance": "",
    "trailing_stop": "",
    "guaranteed_stop": "",
    "oco": "",
    "oco_side": "SELL",
    "oco_order_type": "STOP",
    "oco_level": "",
    "oco_stop_distance": "",
    "oco_profit_distance": "",
}


def new_key() -> str:
    """A fresh idempotency key, put in the form when it is rendered (a resubmit reuses it)."""
    return f"web-{uuid.uuid4().hex}"


def valid_key(key: str) -> bool:
    return bool(KEY_RE.match(key))


@dataclass(frozen=True)
class CheckedOrder:
    instrument: InstrumentRef
    side: Side
    size: Decimal
    order_type: OrderType
    level: Decimal | None
    protection: Protection
    oco: OcoLeg | None


@dataclass
class Ticket:
    """The form as typed (kept for re-rendering) plus its errors."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def flag(self, name: str) -> bool:
        return self.text(name) in ("1", "on", "true", "yes")


def ticket_from(form: dict[str, Any]) -> Ticket:
    return Ticket({name: str(form.get(name, default) or "") for name, default in DEFAULTS.items()})


def _decimal(ticket: Ticket, name: str, label: str, *, required: bool = False) -> Decimal | None:
    raw = ticket.text(name)
    if not raw:
        if required:
            ticket.errors[name] = f"Enter the {label}."
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        ticket.errors[name] = f"Enter the {label} as a number, e.g. 1.5."
        return None
    if value <= 0:
        ticket.errors[name] = f"The {label} must be greater than zero."
        return None
    return value


def _choice(ticket: Ticket, name: str, enum: type, label: str, allowed: tuple | None = None):
    try:
        value = enum(ticket.text(name).upper())
    except ValueError:
        ticket.errors[name] = f"Choose a {label}."
        return None
    if allowed is not None and value not in allowed:
        ticket.errors[name] = f"Choose a {label}: {' or '.join(a.value.lower() for a in allowed)}."
        return None
    return value


def _check_size(ticket: Ticket, size: Decimal, rules: DealingRulesView | None) -> None:
    if rules is None:
        return
    if rules.min_deal_size is not None and size < rules.min_deal_size:
        ticket.errors["size"] = f"The minimum size for this instrument is {plain(rules.min_deal_size)}."
    elif rules.max_deal_size is not None and size > rules.max_deal_size:
        ticket.errors["size"] = f"The maximum size for this instrument is {plain(rules.max_deal_size)}."
    elif rules.min_size_increment and rules.min_size_increment > 0 and size % rules.min_size_increment:
        ticket.errors["size"] = f"Use a multiple of {plain(rules.min_size_increment)}."


def _check_distance(ticket: Ticket, name: str, distance: Decimal | None, minimum: Decimal | None) -> None:
    if distance is not None and minimum is not None and distance < minimum and name not in ticket.errors:
        ticket.errors[name] = f"Keep it at least {plain(minimum)} away from the entry price."


def _exit_pair(ticket: Ticket, level_name: str, distance_name: str, label: str):
    level = _decimal(ticket, level_name, f"{label} level")
    distance = _decimal(ticket, distance_name, f"{label} distance")
    if level is not None and distance is not None:
        ticket.errors[distance_name] = f"Give the {label} as a level or a distance, not both."
    return level, distance


def _check_levels(
    ticket: Ticket, side: Side, entry: Decimal | None, stop: Decimal | None, profit: Decimal | None, minimum
) -> None:
    """Absolute exits must sit on the right side of the entry (when the entry is known)."""
    if entry is None:
        return
    below, above = (stop, profit) if side is Side.BUY else (profit, stop)
    names = ("stop_level", "profit_level") if side is Side.BUY else ("profit_level", "stop_level")
    if below is not None and below >= entry:
        ticket.errors[names[0]] = (
            f"For a {side.value.lower()} order this goes below the entry {plain(entry)}."
        )
    if above is not None and above <= entry:
        ticket.errors[names[1]] = (
            f"For a {side.value.lower()} order this goes above the entry {plain(entry)}."
        )
    if minimum is not None:
        for name, level in (("stop_level", stop), ("profit_level", profit)):
            if level is not None:
                _check_distance(ticket, name, abs(entry - level), minimum)


def check_ticket(
    ticket: Ticket, instrument: InstrumentRef | None, rules: DealingRulesView | None, price: Decimal | None
) -> CheckedOrder | None:
    """Validate ``ticket`` against the instrument's dealing rules. ``price``: the current price the
    order would fill at (for market orders' absolute exits), when known. None when any field is wrong."""
    if not ticket.text("symbol"):
        ticket.errors["symbol"] = "Enter an instrument, e.g. EURUSD."
    elif not SYMBOL_RE.match(ticket.text("symbol")):
        ticket.errors["symbol"] = "Use the instrument's symbol: letters, digits, - and _ only."
    elif instrument is None:
        ticket.errors["symbol"] = "We do not know this instrument. Check the symbol on the Markets page."
    side = _choice(ticket, "side", Side, "side")
    order_type = _choice(ticket, "order_type", OrderType, "order type")
    size = _decimal(ticket, "size", "size", required=True)
    if size is not None:
        _check_size(ticket, size, rules)
    level = _decimal(ticket, "level", "level", required=order_type in WORKING)
    if order_type is OrderType.MARKET and level is not None:
        ticket.errors["level"] = "A market order fills at the current price: leave the level empty."
    min_stop = rules.min_stop_distance if rules else None
    stop_level, stop_distance = _exit_pair(ticket, "stop_level", "stop_distance", "stop-loss")
    profit_level, profit_distance = _exit_pair(ticket, "profit_level", "profit_distance", "take-profit")
    _check_distance(ticket, "stop_distance", stop_distance, min_stop)
    _check_distance(ticket, "profit_distance", profit_distance, min_stop)
    if side is not None:
        entry = level if order_type in WORKING else price
        _check_levels(ticket, side, entry, stop_level, profit_level, min_stop)
    trailing, guaranteed = ticket.flag("trailing_stop"), ticket.flag("guaranteed_stop")
    if trailing and stop_distance is None:
        ticket.errors["trailing_stop"] = (
            "A trailing stop follows the price: give the stop-loss as a distance."
        )
    if guaranteed and stop_level is None and stop_distance is None:
        ticket.errors["guaranteed_stop"] = "A guaranteed stop needs a stop-loss level or distance."
    if trailing and guaranteed:
        ticket.errors["guaranteed_stop"] = "A stop is either trailing or guaranteed, not both."
    oco = _oco(ticket, order_type, size, rules) if ticket.flag("oco") else None
    if ticket.errors or instrument is None or side is None or order_type is None or size is None:
        return None
    protection = Protection(
        stop_level=stop_level,
        stop_distance=stop_distance,
        profit_level=profit_level,
        profit_distance=profit_distance,
        trailing_stop=trailing,
        guaranteed_stop=guaranteed,
    )
    return CheckedOrder(instrument, side, size, order_type, level, protection, oco)


def _oco(ticket: Ticket, order_type: OrderType | None, size, rules) -> OcoLeg | None:
    if order_type is OrderType.MARKET:
        ticket.errors["oco"] = "OCO pairs two working orders: make the first order a limit or stop order."
    side = _choice(ticket, "oco_side", Side, "side for the second order")
    oco_type = _choice(ticket, "oco_order_type", OrderType, "type for the second order", WORKING)
    level = _decimal(ticket, "oco_level", "second order's level", required=True)
    stop = _decimal(ticket, "oco_stop_distance", "second order's stop distance")
    profit = _decimal(ticket, "oco_profit_distance", "second order's take-profit distance")
    min_stop = rules.min_stop_distance if rules else None
    _check_distance(ticket, "oco_stop_distance", stop, min_stop)
    _check_distance(ticket, "oco_profit_distance", profit, min_stop)
    if side is None or oco_type is None or level is None or ticket.errors:
        return None
    return OcoLeg(
        side=side,
        order_type=oco_type,
        level=level,
        protection=Protection(stop_distance=stop, profit_distance=profit),
    )


def plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros (0.00010 → 0.0001, 1E+2 → 100)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
