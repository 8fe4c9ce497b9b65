"""Indicator values with TA-Lib, computed from the fetched candles (warm-up included)."""

from __future__ import annotations

import numpy as np
import talib

from .domain import Indicator


def supertrend(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, multiplier: float
) -> tuple[np.ndarray, np.ndarray]:
    """SuperTrend (ATR bands that only tighten, flipping on a close through them).

    Returns two lines, ``up`` (support while the trend is up) and ``down`` (resistance while it is
    down), each NaN where the other trend holds, so they draw in two colours without joining.
    """
    n = len(close)
    atr = talib.ATR(high, low, close, timeperiod=period)
    mid = (high + low) / 2.0
    upper_basic = mid + multiplier * atr
    lower_basic = mid - multiplier * atr
    upper = np.full(n, np.nan)
    lower = np.full(n, np.nan)
    trend = np.zeros(n, dtype=np.int8)
    start = int(np.argmax(~np.isnan(atr))) if np.any(~np.isnan(atr)) else n
    for i in range(start, n):
        if i == start:
            upper[i], lower[i], trend[i] = upper_basic[i], lower_basic[i], 1
            continue
        upper[i] = (
            upper_basic[i] if upper_basic[i] < upper[i - 1] or close[i - 1] > upper[i - 1] else upper[i - 1]
        )
        lower[i] = (
            lower_basic[i] if lower_basic[i] > lower[i - 1] or close[i - 1] < lower[i - 1] else lower[i - 1]
        )
        if trend[i - 1] == 1:
            trend[i] = -1 if close[i] < lower[i] else 1
        else:
            trend[i] = 1 if close[i] > upper[i] else -1
    up = np.where(trend == 1, lower, np.nan)
    down = np.where(trend == -1, upper, np.nan)
    return up, down


def compute(indicator: Indicator, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Output name → values aligned with the candle columns."""
    h, low, c, v = (cols[k] for k in ("high", "low", "close", "volume"))
    p = dict(indicator.params)
    name = indicator.name
    if name == "SUPERTREND":
        up, down = supertrend(h, low, c, int(p["timeperiod"]), float(p["multiplier"]))
        return {"up": up, "down": down}
    if name == "BBANDS":
        upper, middle, lower = talib.BBANDS(c, **p)
        return {"upperband": upper, "middleband": middle, "lowerband": lower}
    if name == "MACD":
        macd, signal, hist = talib.MACD(c, **p)
        return {"macd": macd, "macdsignal": signal, "macdhist": hist}
    if name == "STOCH":
        k, d = talib.STOCH(h, low, c, **p)
        return {"slowk": k, "slowd": d}
    if name == "SAR":
        return {"real": talib.SAR(h, low, **p)}
    if name in ("ATR", "ADX", "CCI", "WILLR"):
        return {"real": getattr(talib, name)(h, low, c, **p)}
    if name == "MFI":
        return {"real": talib.MFI(h, low, c, v, **p)}
    if name == "OBV":
        return {"real": talib.OBV(c, v)}
    return {"real": getattr(talib, name)(c, **p)}
