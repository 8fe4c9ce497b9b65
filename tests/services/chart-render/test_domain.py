"""Pure rules: the indicator table, validation, warm-up, and the content hash."""

import numpy as np
import pytest

from tt_chart_render.domain import (
    INDICATORS,
    ChartSpec,
    InvalidChart,
    Mark,
    check_enough_candles,
    content_hash,
    fetch_limit,
    normalise_indicator,
    normalise_indicators,
    object_key,
)
from tt_chart_render.indicators import compute, supertrend
from tt_chart_render.testing import synthetic_columns


def test_table_places_overlays_on_price_and_oscillators_in_panes():
    overlays = {n for n, d in INDICATORS.items() if d.placement == "overlay"}
    panes = {n for n, d in INDICATORS.items() if d.placement == "pane"}
    assert {"SMA", "EMA", "BBANDS", "SUPERTREND", "SAR"} <= overlays
    assert {"RSI", "MACD", "STOCH", "ATR"} <= panes
    assert not overlays & panes


def test_normalise_fills_defaults_accepts_aliases_and_is_canonical():
    a = normalise_indicator("bb", {})
    b = normalise_indicator("BBANDS", {"nbdevdn": 2, "timeperiod": "20"})
    assert a == b and a.name == "BBANDS" and a.label == "BBANDS(20,2,2)"
    assert normalise_indicator("rsi", {"timeperiod": 7.0}).params == (("timeperiod", 7),)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("FOO", {}, "unknown indicator"),
        ("RSI", {"period": 14}, "unknown parameter"),
        ("RSI", {"timeperiod": 1}, "outside"),
        ("RSI", {"timeperiod": 14.5}, "integer"),
        ("RSI", {"timeperiod": "abc"}, "not a number"),
        ("MACD", {"fastperiod": 30, "slowperiod": 26}, "below slowperiod"),
    ],
)
def test_invalid_indicators_are_refused(name, params, message):
    with pytest.raises(InvalidChart, match=message):
        normalise_indicator(name, params)


def test_limits_on_indicator_and_pane_counts():
    with pytest.raises(InvalidChart, match="panes"):
        normalise_indicators([("RSI", {}), ("ATR", {}), ("CCI", {}), ("MOM", {}), ("ROC", {})])
    with pytest.raises(InvalidChart, match="at most"):
        normalise_indicators([("SMA", {"timeperiod": p}) for p in range(2, 12)])


def test_warmup_and_too_few_candles():
    inds = normalise_indicators([("SMA", {"timeperiod": 50}), ("RSI", {})])
    assert fetch_limit(200, inds) == 200 + 51
    assert fetch_limit(4990, inds) == 5000
    assert check_enough_candles(500, 200, inds) == 200
    assert check_enough_candles(120, 200, inds) == 120  # a young instrument: draw what exists
    with pytest.raises(InvalidChart, match="too few candles for SMA"):
        check_enough_candles(30, 200, inds)
    with pytest.raises(InvalidChart, match="too few candles"):
        check_enough_candles(1, 200, ())


def _spec(**over) -> ChartSpec:
    cols = synthetic_columns(100)
    cols["open_time"] = np.arange(100, dtype=np.int64) * 3600
    values = dict(
        symbol="EURUSD",
        timeframe="1h",
        indicators=normalise_indicators([("RSI", {})]),
        marks=(Mark("stop", 1.0, None, "SL"),),
        width=800,
        height=600,
        theme="dark",
        visible=80,
        columns=cols,
    )
    values.update(over)
    return ChartSpec(**values)


def test_content_hash_is_stable_and_sensitive_to_everything_drawn():
    base = content_hash(_spec())
    assert base == content_hash(_spec()) and len(base) == 64
    assert object_key(base) == f"charts/{base[:2]}/{base}.png"
    changed_cols = synthetic_columns(100, seed=8)
    changed_cols["open_time"] = np.arange(100, dtype=np.int64) * 3600
    variants = [
        _spec(theme="light"),
        _spec(width=801),
        _spec(visible=81),
        _spec(marks=()),
        _spec(indicators=normalise_indicators([("RSI", {"timeperiod": 15})])),
        _spec(columns=changed_cols),
    ]
    assert len({base, *(content_hash(v) for v in variants)}) == len(variants) + 1


def test_supertrend_flips_with_the_trend():
    n = 200
    close = np.concatenate([np.linspace(100, 150, n // 2), np.linspace(150, 90, n // 2)])
    high, low = close + 1, close - 1
    up, down = supertrend(high, low, close, 10, 3.0)
    assert np.isfinite(up[60]) and np.isnan(down[60]), "rising market: support line only"
    assert np.isfinite(down[-1]) and np.isnan(up[-1]), "falling market: resistance line only"
    assert np.all(up[np.isfinite(up)] < close[np.isfinite(up)] + 1e-9)


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_every_indicator_in_the_table_computes(name):
    cols = synthetic_columns(300)
    out = compute(normalise_indicator(name, {}), cols)
    assert set(out) == set(INDICATORS[name].outputs)
    assert all((len(v) == 300 and np.isfinite(v[-1])) or name == "SUPERTREND" for v in out.values())


def test_moving_average_types_from_the_indicator_catalogue_are_accepted():
    """market-data's specs offer TA-Lib's matype; the renderer takes it and names it when not simple."""
    assert normalise_indicator("BBANDS", {"matype": 1}).label == "BBANDS(20,2,2,1)"
    stoch = normalise_indicator("STOCH", {"slowk_matype": 0, "slowd_matype": 0})
    assert stoch.label == "STOCH(14,3,3)"
