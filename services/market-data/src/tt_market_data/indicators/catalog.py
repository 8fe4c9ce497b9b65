"""The indicator catalogue: every TA-Lib function plus our own, with typed parameter specs.

TA-Lib knows names, defaults and (privately) a parameter's kind and help text, but not its range, so
the ranges are ours: ``RANGES`` per parameter name, the C library's documented bounds where it has
them (periods 2..100000 unless noted) and pragmatic bounds for a form otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import talib
from talib import abstract

# (min, max) per TA-Lib parameter name.
RANGES: dict[str, tuple[float, float]] = {
    "timeperiod": (2, 100000),
    "timeperiod1": (1, 100000),
    "timeperiod2": (1, 100000),
    "timeperiod3": (1, 100000),
    "fastperiod": (2, 100000),
    "slowperiod": (2, 100000),
    "signalperiod": (1, 100000),
    "fastk_period": (1, 100000),
    "fastd_period": (1, 100000),
    "slowk_period": (1, 100000),
    "slowd_period": (1, 100000),
    "minperiod": (2, 100000),
    "maxperiod": (2, 100000),
    "nbdev": (-1000, 1000),
    "nbdevup": (-1000, 1000),
    "nbdevdn": (-1000, 1000),
    "vfactor": (0, 1),
    "fastlimit": (0.01, 0.99),
    "slowlimit": (0.01, 0.99),
    "penetration": (0, 1000),
    "acceleration": (0, 1000),
    "maximum": (0, 1000),
    "startvalue": (-1000, 1000),
    "offsetonreverse": (0, 1000),
    "accelerationinitlong": (0, 1000),
    "accelerationlong": (0, 1000),
    "accelerationmaxlong": (0, 1000),
    "accelerationinitshort": (0, 1000),
    "accelerationshort": (0, 1000),
    "accelerationmaxshort": (0, 1000),
    "multiplier": (0, 1000),
    "percentile": (0, 100),
    "atrperiod": (1, 100000),
    "leftbars": (1, 1000),
    "rightbars": (1, 1000),
}
MA_TYPES: dict[int, str] = {int(k): v for k, v in talib.MA_Type._lookup.items()}
KIND = {0: "float", 1: "float", 2: "int", 3: "matype"}


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str  # int | float | matype
    default: float | int
    min: float | int
    max: float | int
    help: str = ""

    def coerce(self, value: object) -> float | int:
        """A wizard's value as the right type inside its range; ValueError otherwise."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{self.name}: a number is required")
        number = float(value)
        if self.type in ("int", "matype"):
            if number != int(number):
                raise ValueError(f"{self.name}: an integer is required")
            number = int(number)
        if not self.min <= number <= self.max:
            raise ValueError(f"{self.name}: {number} is outside {self.min}..{self.max}")
        return number


@dataclass(frozen=True)
class IndicatorDef:
    name: str
    group: str
    display_name: str
    inputs: tuple[str, ...]  # price series: open/high/low/close/volume (or 'periods' for MAVP)
    outputs: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    talib: bool = True

    def resolve(self, given: dict[str, object]) -> dict[str, float | int]:
        unknown = set(given) - {p.name for p in self.params}
        if unknown:
            raise ValueError(f"{self.name}: unknown parameters {sorted(unknown)}")
        return {p.name: p.coerce(given[p.name]) if p.name in given else p.default for p in self.params}


def _talib_def(name: str) -> IndicatorDef:
    info = abstract.Function(name).info
    inputs: list[str] = []
    for value in info["input_names"].values():
        inputs.extend(value if isinstance(value, list) else [value])
    params = []
    for i, (pname, default) in enumerate(info["parameters"].items()):
        meta = talib._ta_lib._ta_getOptInputParameterInfo(name.encode(), i)
        kind = KIND.get(meta.get("type", 0), "float")
        lo, hi = RANGES.get(pname, (0, 1000) if kind == "float" else (1, 100000))
        if kind == "matype":
            lo, hi = min(MA_TYPES), max(MA_TYPES)
        params.append(ParamSpec(pname, kind, default, lo, hi, str(meta.get("help", "") or "")))
    return IndicatorDef(
        name,
        info["group"],
        info["display_name"],
        tuple(inputs),
        tuple(info["output_names"]),
        tuple(params),
    )


def _own(name, group, display, inputs, outputs, params) -> IndicatorDef:
    return IndicatorDef(
        name, group, display, inputs, outputs, tuple(ParamSpec(*p) for p in params), talib=False
    )


OWN: dict[str, IndicatorDef] = {
    d.name: d
    for d in (
        _own(
            "VWAP",
            "Volume Indicators",
            "Volume Weighted Average Price",
            ("high", "low", "close", "volume"),
            ("vwap",),
            [("timeperiod", "int", 0, 0, 100000, "Rolling window in bars; 0 = cumulative over the range")],
        ),
        _own(
            "SUPERTREND",
            "Overlap Studies",
            "SuperTrend",
            ("high", "low", "close"),
            ("supertrend", "direction"),
            [
                ("timeperiod", "int", 10, 1, 100000, "ATR period (Wilder, as TA-Lib's ATR)"),
                ("multiplier", "float", 3.0, 0.1, 100, "Band width in ATRs"),
            ],
        ),
        _own(
            "ICHIMOKU",
            "Overlap Studies",
            "Ichimoku Kinko Hyo",
            ("high", "low", "close"),
            ("tenkan", "kijun", "senkou_a", "senkou_b", "chikou"),
            [
                ("tenkan", "int", 9, 1, 1000, "Conversion line period"),
                ("kijun", "int", 26, 1, 1000, "Base line period (also the displacement)"),
                ("senkou", "int", 52, 1, 1000, "Leading span B period"),
            ],
        ),
        _own(
            "PIVOTS",
            "Overlap Studies",
            "Classic floor pivots (from the previous bar)",
            ("high", "low", "close"),
            ("pp", "r1", "s1", "r2", "s2", "r3", "s3"),
            [],
        ),
    )
}


@cache
def catalogue() -> dict[str, IndicatorDef]:
    defs = {name: _talib_def(name) for name in talib.get_functions()}
    defs.update(OWN)
    return defs


def lookup(name: str) -> IndicatorDef:
    found = catalogue().get(name.upper())
    if found is None:
        raise KeyError(name)
    return found
