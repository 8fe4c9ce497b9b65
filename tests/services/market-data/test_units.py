"""Pure rules: indicators against TA-Lib, the cache, CSV validation, the aggregator, gap counting."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import talib

from tt_contracts.common import IndicatorSpec
from tt_market_data.domain import (
    TIMEFRAMES,
    OpenSlots,
    TickAggregator,
    TradingHours,
    bar_open,
    candle_message_id,
    find_gaps,
    step,
)
from tt_market_data.indicators import IndicatorCache, catalogue, compute, compute_many, lookup
from tt_market_data.uploads import parse_and_validate


def _series(n=200_000, seed=3):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    high = close * (1 + rng.uniform(0, 0.002, n))
    low = close * (1 - rng.uniform(0, 0.002, n))
    return {"open": close, "high": high, "low": low, "close": close, "volume": rng.uniform(1, 100, n)}


def test_whole_talib_set_is_exposed_with_ranges():
    defs = catalogue()
    assert set(talib.get_functions()) <= set(defs) and {"VWAP", "SUPERTREND", "ICHIMOKU", "PIVOTS"} <= set(
        defs
    )
    bb = {p.name: p for p in lookup("BBANDS").params}
    assert bb["timeperiod"].type == "int" and bb["timeperiod"].default == 20 and bb["timeperiod"].min == 2
    assert bb["matype"].type == "matype" and bb["nbdevup"].type == "float"


def test_indicators_match_talib_exactly_on_long_random_series():
    a = _series()
    for name, params in [
        ("RSI", {}),
        ("MACD", {}),
        ("BBANDS", {"timeperiod": 20}),
        ("ATR", {}),
        ("STOCH", {}),
    ]:
        d = lookup(name)
        ours = compute(d, d.resolve(params), a)
        ref = getattr(talib, name)(*(a[i] for i in d.inputs), **d.resolve(params))
        for out, expected in zip(ours.values(), ref if isinstance(ref, tuple) else (ref,), strict=True):
            np.testing.assert_array_equal(out, expected)  # same NaN lookback, same values
    st = compute(lookup("SUPERTREND"), {"timeperiod": 10, "multiplier": 3.0}, a)
    assert np.isnan(st["supertrend"][:10]).all() and not np.isnan(st["supertrend"][10:]).any()
    vw = compute(lookup("VWAP"), {"timeperiod": 0}, a)["vwap"]
    typical = (a["high"] + a["low"] + a["close"]) / 3
    assert abs(vw[-1] - (typical * a["volume"]).sum() / a["volume"].sum()) < 1e-9


def test_cache_hit_skips_the_computation():
    cache, calls = IndicatorCache(8), []
    a = _series(1000)

    def arrays():
        calls.append(1)
        return a

    specs = [
        IndicatorSpec(name="RSI"),
        IndicatorSpec(name="EMA", params={"timeperiod": 20}),
        IndicatorSpec(name="MACD"),
    ]
    first = compute_many(specs, arrays, cache, ("EURUSD", "1m", 1))
    second = compute_many(specs, arrays, cache, ("EURUSD", "1m", 1))
    assert first == second and len(calls) == 3 and cache.hits == 3
    compute_many(specs, arrays, cache, ("EURUSD", "1m", 2))  # a new last bar: computed again
    assert cache.misses == 6


def _csv(rows):
    return ("time,open,high,low,close,volume\n" + "\n".join(rows)).encode()


def _good(n=30):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    closes = 1.15 + np.cumsum(np.random.default_rng(1).normal(0, 0.002, n))
    return [f"{(start + timedelta(minutes=i)).isoformat()},1.1,1.2,1.0,{closes[i]:.4f},10" for i in range(n)]


def test_csv_good_file_is_ok():
    parsed = parse_and_validate(_csv(_good()), "1m")
    assert (
        parsed.report.ok
        and parsed.report.rows == 30
        and len(parsed.candles) == 30
        and not parsed.report.issues
    )
    assert parsed.candles[0].source == "upload"


def test_csv_each_defect_is_reported():
    rows = _good()
    rows[3] = rows[2]  # duplicate
    rows[5] = rows[5].replace("1.1,1.2,1.0", "1.1,1.0,1.2")  # high < low
    rows[7] = "yesterday,1,1,1,1,1"  # timestamp
    rows[9] = rows[9].replace(":09:00", ":09:30")  # off the grid
    rows[11] = rows[11].replace(",10", ",abc")  # value
    del rows[20]  # gap
    rows[25] = rows[25].split(",")[0] + ",11,12,10,11.5,10"  # outlier
    report = parse_and_validate(_csv(rows), "1m").report
    codes = {(i.code, i.severity): i.rows for i in report.issues}
    assert not report.ok
    assert codes[("duplicate", "error")] == [4] and codes[("ohlc", "error")] == [6]
    assert codes[("timestamp", "error")] == [8, 10] and codes[("value", "error")] == [12]
    assert ("gap", "warning") in codes and ("outlier", "warning") in codes
    missing = parse_and_validate(b"time,open,close\n2024-01-01T00:00:00Z,1,1\n", "1m").report
    assert [i.code for i in missing.issues] == ["columns"] and not missing.ok
    assert parse_and_validate(b"\xff\xfe", "1m").report.issues[0].code == "value"


def test_aggregator_bars_and_ids():
    agg = TickAggregator(timeframes=("1m", "5m"))
    t0 = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)
    closed = []
    for s, bid in enumerate([1, 3, 0.5, 2, 2.5]):
        closed += agg.add("X", t0 + timedelta(seconds=s * 30), Decimal(str(bid)), Decimal(str(bid + 1)))
    one = [c for c in closed if c.timeframe == "1m"]
    assert [c.candle.bid_high for c in one] == [Decimal(3), Decimal("2")]
    assert one[0].candle.bid_low == Decimal(1) and one[1].candle.bid_low == Decimal("0.5")
    assert bar_open(datetime(2024, 3, 7, 5, tzinfo=UTC), "1w") == datetime(2024, 3, 4, tzinfo=UTC)
    assert candle_message_id("capitalcom", "X", "1m", t0) == candle_message_id("capitalcom", "X", "1m", t0)


FX_HOURS = {
    **{day: ["00:00 - 21:00", "21:05 - 00:00"] for day in ("mon", "tue", "wed", "thu")},
    "fri": ["00:00 - 21:00"],
    "sat": [],
    "sun": ["21:05 - 00:00"],
}


def test_gap_count_agrees_with_the_gap_walk_for_every_timeframe():
    rng = np.random.default_rng(5)
    for hours in (TradingHours.parse(FX_HOURS), TradingHours.parse({d: ["13:30 - 20:00"] for d in FX_HOURS})):
        for tf in TIMEFRAMES:
            slots = OpenSlots(hours, tf)
            first = bar_open(datetime(2023, 12, 28, 7, 13, tzinfo=UTC), tf)
            grid = [first + step(tf) * i for i in range(3000)]
            grid = [t for t in grid if hours.overlaps(t, t + step(tf))]  # stored bars: open slots only
            # Drop a fifth of the bars between the first and the last: holes of every size.
            kept = [grid[0], *(t for t in grid[1:-1] if rng.random() > 0.2), grid[-1]]
            walked = find_gaps(kept, tf, kept[0], kept[-1], hours.overlaps, limit=10**6)
            on_open = sum(slots.is_open(t) for t in kept)
            assert on_open == len(kept)  # the mask agrees with the hours on every stored bar
            assert slots.gaps(kept[0], kept[-1], on_open) == len(walked) == len(grid) - len(kept), tf
            closed = [t for t in (kept[0] + step(tf) * i for i in range(3000)) if not slots.is_open(t)]
            assert not any(hours.overlaps(t, t + step(tf)) for t in closed)
    always = OpenSlots(TradingHours.parse(None), "1h")
    start = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert always.count(start, start + timedelta(days=3)) == 72  # 11:00 on day 1 to 10:00 on day 4
