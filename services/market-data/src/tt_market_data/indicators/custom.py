"""Our own indicators on numpy arrays, following TA-Lib's conventions (NaN for the lookback)."""

from __future__ import annotations

import numpy as np
import talib


def vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, timeperiod: int = 0
) -> np.ndarray:
    typical = (high + low + close) / 3.0
    pv = typical * volume
    if timeperiod <= 0:
        cum_v = np.cumsum(volume)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.cumsum(pv) / cum_v
        out[cum_v == 0] = np.nan
        return out
    # Windowed sums with TA-Lib's SUM (exact rolling sum, NaN lookback of timeperiod - 1).
    sum_pv = talib.SUM(pv, timeperiod) if timeperiod > 1 else pv.copy()
    sum_v = talib.SUM(volume, timeperiod) if timeperiod > 1 else volume.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sum_pv / sum_v
    out[sum_v == 0] = np.nan
    return out


def supertrend(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, timeperiod: int = 10, multiplier: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """SuperTrend on TA-Lib's ATR (first value at index ``timeperiod``). ``direction`` is +1 / -1.

    The band ratchet is a recurrence; it runs over plain floats after the vectorised ATR and bands."""
    n = len(close)
    atr = talib.ATR(high, low, close, timeperiod)
    mid = (high + low) / 2.0
    upper = (mid + multiplier * atr).tolist()
    lower = (mid - multiplier * atr).tolist()
    c = close.tolist()
    st = np.full(n, np.nan)
    direction = np.full(n, np.nan)
    first = int(np.argmax(~np.isnan(atr))) if n and not np.isnan(atr).all() else n
    if first >= n:
        return st, direction
    fu, fl, d = upper[first], lower[first], 1.0
    out_st = [float("nan")] * n
    out_dir = [float("nan")] * n
    out_st[first], out_dir[first] = fl, d
    for i in range(first + 1, n):
        u, lo = upper[i], lower[i]
        fu = u if (u < fu or c[i - 1] > fu) else fu
        fl = lo if (lo > fl or c[i - 1] < fl) else fl
        if d > 0 and c[i] < fl:
            d = -1.0
        elif d < 0 and c[i] > fu:
            d = 1.0
        out_st[i] = fl if d > 0 else fu
        out_dir[i] = d
    st[:] = out_st
    direction[:] = out_dir
    return st, direction


def _mid(high: np.ndarray, low: np.ndarray, period: int) -> np.ndarray:
    if period == 1:
        return (high + low) / 2.0
    return (talib.MAX(high, period) + talib.MIN(low, period)) / 2.0


def _shift(values: np.ndarray, by: int) -> np.ndarray:
    out = np.full_like(values, np.nan)
    if by >= 0:
        out[by:] = values[: len(values) - by] if by else values
    else:
        out[:by] = values[-by:]
    return out


def ichimoku(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, tenkan: int = 9, kijun: int = 26, senkou: int = 52
) -> tuple[np.ndarray, ...]:
    """Spans aligned to the bar they are plotted on: leading spans shifted ``kijun`` bars forward; the
    lagging span is the close plotted ``kijun`` bars back (so its last ``kijun`` values are NaN)."""
    t = _mid(high, low, tenkan)
    k = _mid(high, low, kijun)
    a = _shift((t + k) / 2.0, kijun)
    b = _shift(_mid(high, low, senkou), kijun)
    chikou = _shift(close.astype(np.float64), -kijun)
    return t, k, a, b, chikou


def pivots(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> tuple[np.ndarray, ...]:
    h, lo, c = _shift(high, 1), _shift(low, 1), _shift(close, 1)
    pp = (h + lo + c) / 3.0
    rng = h - lo
    return pp, 2 * pp - lo, 2 * pp - h, pp + rng, pp - rng, h + 2 * (pp - lo), lo - 2 * (h - pp)
