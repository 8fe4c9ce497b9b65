"""Indicator choices in URLs, and where each indicator is drawn.

A chart's indicators travel in one query parameter so a chart is a shareable link that also works
without JavaScript: ``SMA:timeperiod=20,BBANDS:timeperiod=20:nbdevup=2,RSI`` (indicators separated
by commas, parameters by colons; a parameter left out takes market-data's default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tt_contracts.common import IndicatorSpec
from tt_contracts.market_data import IndicatorInfo

MAX_INDICATORS = 8  # chart-render draws at most 8 indicators in 4 panes
MAX_PANES = 4
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
_PARAM = re.compile(r"^([a-z][a-z0-9_]{0,31})=(-?\d{1,9}(?:\.\d{1,9})?)$")

# Groups of the catalogue that make sense on a price chart; candlestick patterns and arithmetic do not.
CHARTABLE_GROUPS = (
    "Overlap Studies",
    "Momentum Indicators",
    "Volatility Indicators",
    "Volume Indicators",
    "Statistic Functions",
    "Price Transform",
    "Cycle Indicators",
)
PRICE_GROUPS = ("Overlap Studies", "Price Transform")
# Outside the price groups, these are prices too and belong over the candles.
PRICE_SCALE_NAMES = frozenset({"VWAP", "LINEARREG", "LINEARREG_INTERCEPT", "TSF"})
# Outputs of price-pane indicators that are not prices (SuperTrend's +1/-1 direction).
NOT_PRICES = frozenset({"direction"})


class IndicatorChoiceError(ValueError):
    """The indicators parameter cannot be read; the message says what is wrong."""


def parse(text: str) -> list[IndicatorSpec]:
    specs: list[IndicatorSpec] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, *pairs = item.split(":")
        name = name.strip().upper()
        if not _NAME.match(name):
            raise IndicatorChoiceError(f"{name or item!r} is not an indicator name")
        params: dict[str, float | int] = {}
        for pair in pairs:
            found = _PARAM.match(pair.strip())
            if not found:
                raise IndicatorChoiceError(f"{name}: write parameters as name=number, not {pair!r}")
            key, value = found.groups()
            params[key] = float(value) if "." in value else int(value)
        specs.append(IndicatorSpec(name=name, params=params))
    if len(specs) > MAX_INDICATORS:
        raise IndicatorChoiceError(f"at most {MAX_INDICATORS} indicators at a time")
    return specs


def format_specs(specs: list[IndicatorSpec]) -> str:
    return ",".join(":".join([s.name, *(f"{k}={v}" for k, v in s.params.items())]) for s in specs)


def chartable(catalogue: list[IndicatorInfo]) -> list[IndicatorInfo]:
    return sorted(
        (i for i in catalogue if i.group in CHARTABLE_GROUPS), key=lambda i: (i.group, i.display_name)
    )


def on_price_scale(name: str, groups: dict[str, str]) -> bool:
    return groups.get(name) in PRICE_GROUPS or name in PRICE_SCALE_NAMES


@dataclass(frozen=True)
class Placement:
    label: str  # market-data's label: the name, with parameters when the name repeats
    output: str
    where: Literal["price", "pane"]
    pane: int  # 0 is the price pane; oscillators get 1, 2, ... in order of appearance


def place(keys: list[str], groups: dict[str, str]) -> list[Placement]:
    """Where each ``'<label>:<output>'`` series of a candles reply is drawn; series that are not
    drawable (a direction flag over prices, panes beyond the limit) are left out."""
    panes: dict[str, int] = {}
    placed = []
    for key in keys:
        label, _, output = key.rpartition(":")
        name = label.split("(", 1)[0]
        if on_price_scale(name, groups):
            if output not in NOT_PRICES:
                placed.append(Placement(label, output, "price", 0))
            continue
        pane = panes.setdefault(label, len(panes) + 1)
        if pane <= MAX_PANES:
            placed.append(Placement(label, output, "pane", pane))
    return placed


def warm_up(specs: list[IndicatorSpec]) -> int:
    """Bars to fetch before the visible ones so indicators start drawn, not blank (three times the
    longest period, as exponential averages need a few periods to settle)."""
    if not specs:
        return 0
    periods = [int(v) for s in specs for k, v in s.params.items() if "period" in k and isinstance(v, int)]
    return min(3 * max(periods, default=30), 1000)
