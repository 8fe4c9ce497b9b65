"""Chart render time: our renderer vs default mplfinance for the same chart, in the same run.

Chart: candles with volume, SMA(20) and SMA(50) overlays and an RSI(14) pane, 1200×800 px PNG.
Reference: ``mpf.plot(df, type="candle", volume=True, mav=(20, 50), addplot=[RSI panel],
style="yahoo", figsize=(12, 8), savefig=BytesIO)``, i.e. mplfinance's default path.
Target: ≤ 0.4× the reference time at 200 and at 1,000 candles; RSS flat over repeated renders.

    .venv/bin/python benchmarks/bench_chart_render_speed.py [--reps 15] [--memory-renders 300]
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import time
import warnings

import matplotlib

matplotlib.use("Agg")

import mplfinance as mpf
import numpy as np
import pandas as pd
import talib

from tt_chart_render import render
from tt_chart_render.domain import ChartSpec, normalise_indicators
from tt_chart_render.testing import synthetic_columns

TARGET = 0.4
WARMUP = 60  # bars fetched before the window for the indicators (our renderer computes them itself)


def ours_spec(n: int) -> ChartSpec:
    cols = synthetic_columns(n + WARMUP)
    cols["open_time"] = 1_767_225_600 + 3600 * np.arange(n + WARMUP, dtype=np.int64)
    inds = normalise_indicators([("SMA", {"timeperiod": 20}), ("SMA", {"timeperiod": 50}), ("RSI", {})])
    return ChartSpec("EURUSD", "1h", inds, (), 1200, 800, "light", n, cols)


def reference(n: int) -> bytes:
    cols = synthetic_columns(n + WARMUP)
    idx = pd.date_range("2026-01-01", periods=n, freq="h", tz="UTC")
    df = pd.DataFrame(
        {k.capitalize(): v[WARMUP:] for k, v in cols.items()}, index=idx
    )  # same visible candles as ours
    rsi = pd.Series(talib.RSI(cols["close"], timeperiod=14)[WARMUP:], index=idx)
    buf = io.BytesIO()
    mpf.plot(
        df,
        type="candle",
        volume=True,
        mav=(20, 50),
        style="yahoo",
        panel_ratios=(3, 1, 1),
        figsize=(12, 8),
        addplot=[mpf.make_addplot(rsi, panel=2, ylabel="RSI", ylim=(0, 100))],
        savefig={"fname": buf, "dpi": 100},
        warn_too_much_data=10_000,
    )
    return buf.getvalue()


def median_time(fn, reps: int) -> float:
    fn()  # warm
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--memory-renders", type=int, default=300)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    render.warm_up()
    ok = True
    ratios = []
    for n in (200, 1000):
        spec = ours_spec(n)
        # Interleave so background load hits both sides alike.
        ref_t, ours_t = [], []
        for _ in range(3):
            ref_t.append(median_time(lambda n=n: reference(n), max(3, args.reps // 3)))
            ours_t.append(median_time(lambda spec=spec: render.render_png(spec), max(3, args.reps // 3)))
        ref, ours = statistics.median(ref_t), statistics.median(ours_t)
        ratio = ours / ref
        ratios.append(ratio)
        ok &= ratio <= TARGET
        print(
            f"{n:>5} candles: ours {ours * 1000:7.1f} ms ({len(render.render_png(spec)):,} B)  "
            f"default mplfinance {ref * 1000:7.1f} ms ({len(reference(n)):,} B)  ratio {ratio:.2f}×"
        )
    spec = ours_spec(200)
    for _ in range(30):
        render.render_png(spec)
    gc.collect()
    before = rss_mb()
    for k in range(args.memory_renders):
        render.render_png(ours_spec(200 + k % 7))
    gc.collect()
    growth = rss_mb() - before
    ok &= growth < 20
    print(f"memory: RSS {before:.0f} MB → {before + growth:.0f} MB over {args.memory_renders} renders")
    print(
        f"RESULT chart_render 200c={ratios[0]:.2f}x 1000c={ratios[1]:.2f}x of default mplfinance "
        f"(target <= {TARGET}x), rss_growth={growth:.1f}MB -> {'PASS' if ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
