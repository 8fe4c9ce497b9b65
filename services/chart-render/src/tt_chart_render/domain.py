"""Pure rules of chart rendering: which indicators exist, where they are drawn, how a render is keyed.

No I/O here. The indicator table decides overlay (drawn on the price pane) versus pane (its own
panel below volume), the parameters each indicator accepts with their ranges, and the warm-up a
request needs so the first visible bar already has a value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from tt_contracts.common import Timeframe

RENDERER_VERSION = "1"  # bump when the drawing changes: it is part of every content hash
MIN_CANDLES = 2
MAX_FETCH = 5000  # market-data's GetCandles.limit ceiling
MAX_PANES = 4
MAX_INDICATORS = 8

Placement = Literal["overlay", "pane"]


class InvalidChart(ValueError):
    """The request can never render (unknown indicator, bad parameter, too few candles)."""


@dataclass(frozen=True)
class Param:
    default: float | int
    low: float
    high: float
    integer: bool = True


@dataclass(frozen=True)
class IndicatorDef:
    name: str
    placement: Placement
    params: dict[str, Param]
    outputs: tuple[str, ...]
    # The warm-up in bars as a function of the parameters (TA-Lib's lookback, plus slack for
    # exponential smoothing to settle).
    period_keys: tuple[str, ...] = ("timeperiod",)
    warmup_factor: int = 1
    ylim: tuple[float, float] | None = None
    guides: tuple[float, ...] = ()


def _p(default: float | int, low: float, high: float, integer: bool = True) -> Param:
    return Param(default, low, high, integer)


PERIOD = _p(14, 2, 500)
# TA-Lib's moving-average types (0 SMA … 8 T3), as market-data's indicator specs offer them.
MATYPE = _p(0, 0, 8)

INDICATORS: dict[str, IndicatorDef] = {
    d.name: d
    for d in (
        # --- overlays: same scale as price ---
        IndicatorDef("SMA", "overlay", {"timeperiod": _p(20, 2, 1000)}, ("real",)),
        IndicatorDef("EMA", "overlay", {"timeperiod": _p(20, 2, 1000)}, ("real",), warmup_factor=3),
        IndicatorDef("WMA", "overlay", {"timeperiod": _p(20, 2, 1000)}, ("real",)),
        IndicatorDef("DEMA", "overlay", {"timeperiod": _p(20, 2, 500)}, ("real",), warmup_factor=3),
        IndicatorDef("TEMA", "overlay", {"timeperiod": _p(20, 2, 300)}, ("real",), warmup_factor=3),
        IndicatorDef("KAMA", "overlay", {"timeperiod": _p(30, 2, 500)}, ("real",), warmup_factor=3),
        IndicatorDef(
            "BBANDS",
            "overlay",
            {
                "timeperiod": _p(20, 2, 500),
                "nbdevup": _p(2.0, 0.1, 10, integer=False),
                "nbdevdn": _p(2.0, 0.1, 10, integer=False),
                "matype": MATYPE,
            },
            ("upperband", "middleband", "lowerband"),
        ),
        IndicatorDef(
            "SAR",
            "overlay",
            {"acceleration": _p(0.02, 0.001, 1, integer=False), "maximum": _p(0.2, 0.01, 1, integer=False)},
            ("real",),
            period_keys=(),
        ),
        IndicatorDef(
            "SUPERTREND",
            "overlay",
            {"timeperiod": _p(10, 2, 200), "multiplier": _p(3.0, 0.5, 10, integer=False)},
            ("up", "down"),
            warmup_factor=3,
        ),
        # --- panes: their own scale ---
        IndicatorDef(
            "RSI", "pane", {"timeperiod": PERIOD}, ("real",), warmup_factor=3, ylim=(0, 100), guides=(30, 70)
        ),
        IndicatorDef(
            "MACD",
            "pane",
            {"fastperiod": _p(12, 2, 200), "slowperiod": _p(26, 2, 400), "signalperiod": _p(9, 2, 200)},
            ("macd", "macdsignal", "macdhist"),
            period_keys=("slowperiod", "signalperiod"),
            warmup_factor=3,
            guides=(0,),
        ),
        IndicatorDef(
            "STOCH",
            "pane",
            {
                "fastk_period": _p(14, 1, 200),
                "slowk_period": _p(3, 1, 100),
                "slowk_matype": MATYPE,
                "slowd_period": _p(3, 1, 100),
                "slowd_matype": MATYPE,
            },
            ("slowk", "slowd"),
            period_keys=("fastk_period", "slowk_period", "slowd_period"),
            ylim=(0, 100),
            guides=(20, 80),
        ),
        IndicatorDef("ATR", "pane", {"timeperiod": PERIOD}, ("real",), warmup_factor=3),
        IndicatorDef(
            "ADX", "pane", {"timeperiod": PERIOD}, ("real",), warmup_factor=4, ylim=(0, 100), guides=(25,)
        ),
        IndicatorDef("CCI", "pane", {"timeperiod": PERIOD}, ("real",), guides=(-100, 100)),
        IndicatorDef("MFI", "pane", {"timeperiod": PERIOD}, ("real",), ylim=(0, 100), guides=(20, 80)),
        IndicatorDef("WILLR", "pane", {"timeperiod": PERIOD}, ("real",), ylim=(-100, 0), guides=(-80, -20)),
        IndicatorDef("ROC", "pane", {"timeperiod": _p(10, 1, 500)}, ("real",), guides=(0,)),
        IndicatorDef("MOM", "pane", {"timeperiod": _p(10, 1, 500)}, ("real",), guides=(0,)),
        IndicatorDef("OBV", "pane", {}, ("real",), period_keys=()),
    )
}

ALIASES = {"MA": "SMA", "BB": "BBANDS", "BOLLINGER": "BBANDS", "STOCHASTIC": "STOCH", "ST": "SUPERTREND"}


@dataclass(frozen=True)
class Indicator:
    """A validated indicator request: canonical name and every parameter filled in."""

    name: str
    params: tuple[tuple[str, float | int], ...]

    @property
    def definition(self) -> IndicatorDef:
        return INDICATORS[self.name]

    @property
    def placement(self) -> Placement:
        return self.definition.placement

    def param(self, key: str) -> float | int:
        return dict(self.params)[key]

    @property
    def label(self) -> str:
        # The moving-average type shows only when it is not TA-Lib's default (0, simple).
        values = ",".join(_fmt(v) for k, v in self.params if not (k.endswith("matype") and v == 0))
        return f"{self.name}({values})" if values else self.name

    @property
    def min_bars(self) -> int:
        """Bars needed for at least one value (a bound on TA-Lib's lookback, plus one)."""
        return sum(int(self.param(k)) for k in self.definition.period_keys) + 1

    @property
    def warmup(self) -> int:
        return self.min_bars * self.definition.warmup_factor


def _fmt(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def normalise_indicator(name: str, params: dict[str, Any]) -> Indicator:
    key = name.strip().upper()
    key = ALIASES.get(key, key)
    definition = INDICATORS.get(key)
    if definition is None:
        raise InvalidChart(f"unknown indicator {name!r}; known: {', '.join(sorted(INDICATORS))}")
    unknown = set(params) - set(definition.params)
    if unknown:
        raise InvalidChart(f"{key}: unknown parameter(s) {', '.join(sorted(unknown))}")
    filled: list[tuple[str, float | int]] = []
    for pname, spec in definition.params.items():
        raw = params.get(pname, spec.default)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise InvalidChart(f"{key}.{pname}: not a number: {raw!r}") from None
        if value != value or not spec.low <= value <= spec.high:
            raise InvalidChart(f"{key}.{pname}={raw!r} outside [{spec.low:g}, {spec.high:g}]")
        if spec.integer:
            if not value.is_integer():
                raise InvalidChart(f"{key}.{pname}={raw!r} must be an integer")
            filled.append((pname, int(value)))
        else:
            filled.append((pname, value))
    if key == "MACD" and dict(filled)["fastperiod"] >= dict(filled)["slowperiod"]:
        raise InvalidChart("MACD: fastperiod must be below slowperiod")
    return Indicator(key, tuple(filled))


def normalise_indicators(specs: list[tuple[str, dict[str, Any]]]) -> tuple[Indicator, ...]:
    if len(specs) > MAX_INDICATORS:
        raise InvalidChart(f"at most {MAX_INDICATORS} indicators per chart")
    out = tuple(normalise_indicator(name, params) for name, params in specs)
    if sum(1 for i in out if i.placement == "pane") > MAX_PANES:
        raise InvalidChart(f"at most {MAX_PANES} indicator panes per chart")
    return out


def warmup_bars(indicators: tuple[Indicator, ...]) -> int:
    """Extra bars to fetch before the visible window so indicators are defined from its first bar."""
    return max((i.warmup for i in indicators), default=0)


def fetch_limit(bars: int, indicators: tuple[Indicator, ...]) -> int:
    return min(MAX_FETCH, bars + warmup_bars(indicators))


def check_enough_candles(available: int, bars: int, indicators: tuple[Indicator, ...]) -> int:
    """How many of the fetched candles are visible; refuses a chart that cannot be drawn."""
    if available < MIN_CANDLES:
        raise InvalidChart(f"too few candles: got {available}, need at least {MIN_CANDLES}")
    visible = min(bars, available)
    for ind in indicators:
        if available < ind.min_bars:
            raise InvalidChart(f"too few candles for {ind.label}: got {available}, need {ind.min_bars}")
    return visible


@dataclass(frozen=True)
class Mark:
    """An annotation in drawing terms (prices and times as floats / epoch seconds)."""

    kind: str
    price: float | None
    at: float | None
    text: str


@dataclass(frozen=True)
class ChartSpec:
    """Everything the renderer needs, picklable for the worker process, and the hash's input."""

    symbol: str
    timeframe: str
    indicators: tuple[Indicator, ...]
    marks: tuple[Mark, ...]
    width: int
    height: int
    theme: str
    visible: int
    columns: dict[str, Any] = field(default_factory=dict)  # open_time (int64 s), open..volume (float64)

    def canonical(self) -> dict[str, Any]:
        return {
            "renderer": RENDERER_VERSION,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "indicators": [[i.name, [[k, v] for k, v in i.params]] for i in self.indicators],
            "marks": [[m.kind, m.price, m.at, m.text] for m in self.marks],
            "size": [self.width, self.height],
            "theme": self.theme,
            "visible": self.visible,
        }


def content_hash(spec: ChartSpec) -> str:
    """sha256 over the canonical spec and the exact candle arrays: same input, same key, same bytes."""
    h = hashlib.sha256()
    h.update(json.dumps(spec.canonical(), sort_keys=True, separators=(",", ":")).encode())
    for name in ("open_time", "open", "high", "low", "close", "volume"):
        column = spec.columns[name]
        h.update(name.encode())
        h.update(column.tobytes() if hasattr(column, "tobytes") else repr(list(column)).encode())
    return h.hexdigest()


TIMEFRAME_SECONDS = {tf.value: tf.seconds for tf in Timeframe}


def request_fingerprint(fields: dict[str, Any]) -> str:
    """Hash of what a render command asks for (not who asks or when): the memo key for closed windows."""
    return hashlib.sha256(
        json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def window_is_closed(end_epoch: float, timeframe: str, now_epoch: float) -> bool:
    """A window ending at least one bar ago holds only closed candles, which never change."""
    return end_epoch <= now_epoch - TIMEFRAME_SECONDS[timeframe]


def object_key(digest: str) -> str:
    return f"charts/{digest[:2]}/{digest}.png"
