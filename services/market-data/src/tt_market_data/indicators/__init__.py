"""Indicators: TA-Lib's whole function set plus VWAP, SuperTrend, Ichimoku and pivots, with a cache.

The cache is an in-process LRU keyed by (instrument, timeframe, price side, series revision, first
bar, last bar, bar count, indicator, params): bots on one market ask for the same bars on every close,
so one replica computes each value once. It is per process (replicas each compute once); that is the
trade-off we take instead of a shared store, because a miss costs well under a millisecond for 1,000
bars.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import talib

from . import custom
from .catalog import IndicatorDef, ParamSpec, catalogue, lookup

Arrays = dict[str, np.ndarray]


class IndicatorError(ValueError):
    pass


class IndicatorCache:
    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Any, dict[str, list[float | None]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> dict[str, list[float | None]] | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Any, value: dict[str, list[float | None]]) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def compute(
    definition: IndicatorDef, params: dict[str, float | int], arrays: Arrays
) -> dict[str, np.ndarray]:
    """Raw outputs (float64 arrays, NaN where TA-Lib leaves them undefined)."""
    if definition.talib:
        if "periods" in definition.inputs:
            raise IndicatorError(f"{definition.name} needs a periods series; not available from candles")
        func = getattr(talib, definition.name)
        result = func(*(arrays[name] for name in definition.inputs), **params)
    else:
        fn = {
            "VWAP": custom.vwap,
            "SUPERTREND": custom.supertrend,
            "ICHIMOKU": custom.ichimoku,
            "PIVOTS": custom.pivots,
        }
        result = fn[definition.name](*(arrays[name] for name in definition.inputs), **params)
    outputs = result if isinstance(result, tuple) else (result,)
    return {
        name: np.asarray(out, dtype=np.float64) for name, out in zip(definition.outputs, outputs, strict=True)
    }


def to_json_list(values: np.ndarray) -> list[float | None]:
    """NaN → None. NaNs are few (the warm-up bars), so patch only those after one C-level tolist()."""
    out: list[float | None] = values.tolist()
    for i in np.flatnonzero(np.isnan(values)).tolist():
        out[i] = None
    return out


def compute_many(
    specs: Iterable[Any],
    arrays: Callable[[], Arrays],
    cache: IndicatorCache | None = None,
    key_base: tuple = (),
) -> dict[str, list[float | None]]:
    """Indicator outputs keyed ``'<NAME>:<output>'`` (``'<NAME>(<params>):<output>'`` when a name repeats
    with other parameters). ``arrays`` is called only on a cache miss."""
    out: dict[str, list[float | None]] = {}
    seen: set[str] = set()
    for spec in specs:
        try:
            definition = lookup(spec.name)
            params = definition.resolve(dict(spec.params))
        except KeyError as exc:
            raise IndicatorError(f"unknown indicator {spec.name!r}") from exc
        except ValueError as exc:
            raise IndicatorError(str(exc)) from exc
        key = (*key_base, definition.name, tuple(sorted(params.items())))
        values = cache.get(key) if cache is not None else None
        if values is None:
            try:
                raw = compute(definition, params, arrays())
            except IndicatorError:
                raise
            except Exception as exc:  # TA-Lib refuses e.g. an out-of-range parameter
                raise IndicatorError(f"{definition.name}: {exc}") from exc
            values = {name: to_json_list(v) for name, v in raw.items()}
            if cache is not None:
                cache.put(key, values)
        label = definition.name
        if label in seen:
            label += "(" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"
        seen.add(definition.name)
        for name, series in values.items():
            out[f"{label}:{name}"] = series
    return out


__all__ = [
    "IndicatorCache",
    "IndicatorDef",
    "IndicatorError",
    "ParamSpec",
    "catalogue",
    "compute",
    "compute_many",
    "lookup",
]
