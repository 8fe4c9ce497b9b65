"""Request bodies for trade endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .constants import Direction, WorkingOrderType
from .parse import format_venue_time


@dataclass(frozen=True, slots=True, kw_only=True)
class Protection:
    """Stop-loss / take-profit for a position or working order.

    Give at most one of level / distance / amount per side. On `update_*` this is the COMPLETE
    bracket set: the venue clears whatever an amend leaves out, so resend what you want to keep.
    """

    stop_level: Decimal | None = None
    stop_distance: Decimal | None = None
    stop_amount: Decimal | None = None
    profit_level: Decimal | None = None
    profit_distance: Decimal | None = None
    profit_amount: Decimal | None = None
    guaranteed_stop: bool = False
    trailing_stop: bool = False

    def __post_init__(self) -> None:
        stops = [v for v in (self.stop_level, self.stop_distance, self.stop_amount) if v is not None]
        profits = [v for v in (self.profit_level, self.profit_distance, self.profit_amount) if v is not None]
        if len(stops) > 1 or len(profits) > 1:
            raise ValueError("give at most one of level, distance or amount for the stop and for the profit")
        if self.guaranteed_stop and self.trailing_stop:
            raise ValueError("a stop cannot be both guaranteed and trailing")
        if self.guaranteed_stop and not stops:
            raise ValueError("a guaranteed stop needs a stop level, distance or amount")
        if self.trailing_stop and self.stop_distance is None:
            raise ValueError("a trailing stop needs a stop distance")

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"guaranteedStop": self.guaranteed_stop, "trailingStop": self.trailing_stop}
        for name, value in (
            ("stopLevel", self.stop_level),
            ("stopDistance", self.stop_distance),
            ("stopAmount", self.stop_amount),
            ("profitLevel", self.profit_level),
            ("profitDistance", self.profit_distance),
            ("profitAmount", self.profit_amount),
        ):
            if value is not None:
                body[name] = value
        return body


def _positive(name: str, value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive number")
    return value


def position_body(
    epic: str, direction: Direction, size: Decimal, protection: Protection | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "epic": epic,
        "direction": Direction(direction).value,
        "size": _positive("size", size),
    }
    if protection is not None:
        body.update(protection.to_body())
    return body


def working_order_body(
    epic: str,
    direction: Direction,
    size: Decimal,
    level: Decimal,
    order_type: WorkingOrderType,
    good_till: datetime | None,
    protection: Protection | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "epic": epic,
        "direction": Direction(direction).value,
        "size": _positive("size", size),
        "level": _positive("level", level),
        "type": WorkingOrderType(order_type).value,
    }
    if good_till is not None:
        body["goodTillDate"] = format_venue_time(good_till)
    if protection is not None:
        body.update(protection.to_body())
    return body


def working_order_update_body(
    level: Decimal | None, good_till: datetime | None, protection: Protection | None
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if level is not None:
        body["level"] = _positive("level", level)
    if good_till is not None:
        body["goodTillDate"] = format_venue_time(good_till)
    body.update((protection or Protection()).to_body())
    return body
