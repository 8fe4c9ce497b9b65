"""Drawing a ``ChartSpec`` to PNG bytes: Agg, no pyplot, fixed fonts and dpi, no PNG metadata.

Colours and candle conventions come from mplfinance's styles (``yahoo`` for light, ``nightclouds``
for dark). The drawing itself is ours, built from a handful of collections: mplfinance's default
path adds one Rectangle patch per volume bar and lays out a pyplot figure per chart, which is where
most of its time goes (see the benchmark). No pyplot means no global figure registry: a figure is
garbage as soon as this function returns, so memory stays flat over thousands of renders.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

import mplfinance as mpf
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from . import indicators as ind
from .domain import ChartSpec, Mark

DPI = 100
RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",  # ships with matplotlib: the same glyphs on every machine
    "font.size": 8.5,
    "svg.hashsalt": "trade-tracker",
    "path.simplify": True,
    "axes.linewidth": 0.8,
    "lines.antialiased": True,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}
PNG_METADATA = {"Software": None}  # matplotlib writes its version here otherwise; no time is written


@lru_cache(maxsize=2)
def theme(name: str) -> dict[str, Any]:
    style = mpf.make_mpf_style(base_mpf_style="nightclouds" if name == "dark" else "yahoo")
    mc = style["marketcolors"]
    dark = name == "dark"
    return {
        "figure": "#0b0b0b" if dark else "#ffffff",
        "face": style["facecolor"],
        "grid": "#2a2a2a" if dark else style["gridcolor"],
        "text": "#d8d8d8" if dark else "#101010",
        "muted": "#8a8a8a" if dark else "#6a6a6a",
        "edge": "#3a3a3a" if dark else "#c8c8c8",
        "up": mc["candle"]["up"],
        "down": mc["candle"]["down"],
        "wick_up": mc["wick"]["up"],
        "wick_down": mc["wick"]["down"],
        "vol_up": mc["volume"]["up"],
        "vol_down": mc["volume"]["down"],
        "alpha": float(mc.get("alpha", 1.0)),
        "lines": style.get("mavcolors")
        or ["#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#e377c2", "#8c564b", "#bcbd22"],
        "long": "#26a69a",
        "short": "#ef5350",
        "level": "#f0b90b" if dark else "#b8860b",
    }


def _bars(x: np.ndarray, bottom: np.ndarray, top: np.ndarray, width: float) -> np.ndarray:
    """Rectangles as an (n, 4, 2) vertex array: one PolyCollection draws them all."""
    left, right = x - width / 2, x + width / 2
    return np.stack(
        [
            np.column_stack([left, bottom]),
            np.column_stack([left, top]),
            np.column_stack([right, top]),
            np.column_stack([right, bottom]),
        ],
        axis=1,
    )


def _time_labels(times: np.ndarray, timeframe: str, ticks: np.ndarray) -> list[str]:
    fmt = "%Y-%m-%d" if timeframe in ("1d", "1w") else "%m-%d %H:%M"
    return [datetime.fromtimestamp(int(times[i]), UTC).strftime(fmt) for i in ticks]


def _style_axes(ax: Any, t: dict[str, Any]) -> None:
    ax.set_facecolor(t["face"])
    for spine in ax.spines.values():
        spine.set_color(t["edge"])
    # matplotlib's tick machinery (a Line2D and a Text per tick, per axis) is the largest single
    # cost of a small chart: the grid and labels are drawn by ``_grid`` instead.
    ax.xaxis.set_visible(False)
    ax.yaxis.set_visible(False)


_LOCATOR = MaxNLocator(nbins=6)
_SMALL_LOCATOR = MaxNLocator(nbins=3)


def _grid(
    ax: Any, t: dict[str, Any], xticks: np.ndarray, *, labels: bool = True, small: bool = False
) -> None:
    """Grid lines as one LineCollection and right-hand price labels as plain text."""
    lo, hi = ax.get_ylim()
    yticks = [y for y in (_SMALL_LOCATOR if small else _LOCATOR).tick_values(lo, hi) if lo <= y <= hi]
    xlo, xhi = ax.get_xlim()
    segments = [[(xlo, y), (xhi, y)] for y in yticks] + [[(x, lo), (x, hi)] for x in xticks]
    ax.add_collection(
        LineCollection(segments, colors=t["grid"], linewidths=0.6, alpha=0.8, zorder=0.5), autolim=False
    )
    if not labels:
        return
    step = yticks[1] - yticks[0] if len(yticks) > 1 else 1.0
    decimals = max(0, min(6, -int(np.floor(np.log10(abs(step)))) + 1)) if step else 2
    transform = ax.get_yaxis_transform()
    for y in yticks:
        ax.text(
            1.006,
            y,
            f"{y:.{decimals}f}",
            transform=transform,
            va="center",
            ha="left",
            color=t["text"],
            fontsize=7.5,
            clip_on=False,
        )


def render_png(spec: ChartSpec) -> bytes:
    with matplotlib.rc_context(RC):
        fig = _draw(spec)
        try:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=DPI, facecolor=fig.get_facecolor(), metadata=PNG_METADATA)
            return buf.getvalue()
        finally:
            _reset(fig)


def layout(spec: ChartSpec) -> list[tuple[str, Any]]:
    """The panes of a chart, top to bottom, with their boxes in pixels (for tests and debugging)."""
    with matplotlib.rc_context(RC):
        fig = _draw(spec)
        try:
            labels = ["price", "volume"] + [i.label for i in spec.indicators if i.placement == "pane"]
            return [(label, ax.get_window_extent()) for label, ax in zip(labels, fig.axes, strict=True)]
        finally:
            _reset(fig)


# Empty figures by layout, reused: building axes costs as much as drawing a 200-candle chart. Only
# artists added by ``_draw`` are removed afterwards, and every limit is set explicitly per render,
# so a reused figure renders the same bytes as a fresh one (a test checks it).
_FIGURES: OrderedDict[tuple[int, int, str, int], tuple[Figure, list[Any]]] = OrderedDict()
_MAX_FIGURES = 4


def _layout(width: int, height: int, theme_name: str, pane_count: int) -> tuple[Figure, list[Any]]:
    key = (width, height, theme_name, pane_count)
    cached = _FIGURES.get(key)
    if cached is not None:
        _FIGURES.move_to_end(key)
        return cached
    t = theme(theme_name)
    ratios = [5.0, 1.2] + [1.6] * pane_count
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=t["figure"])
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(
        len(ratios),
        1,
        height_ratios=ratios,
        hspace=0.06,
        left=12 / width,
        right=1 - 62 / width,
        top=1 - 22 / height,
        bottom=34 / height,
    )
    price = fig.add_subplot(grid[0])
    axes = [price] + [fig.add_subplot(grid[k], sharex=price) for k in range(1, len(ratios))]
    for ax in axes:
        _style_axes(ax, t)
    _FIGURES[key] = (fig, axes)
    while len(_FIGURES) > _MAX_FIGURES:
        _FIGURES.popitem(last=False)
    return fig, axes


def _reset(fig: Figure) -> None:
    """Remove what one render added (lines, collections, texts), keeping the axes."""
    for ax in fig.axes:
        for artist in [*ax.lines, *ax.collections, *ax.texts, *ax.patches]:
            artist.remove()
        ax.relim()
    for text in list(fig.texts):
        text.remove()


def _draw(spec: ChartSpec) -> Figure:
    t = theme(spec.theme)
    cols = {k: np.asarray(v, dtype=np.float64) for k, v in spec.columns.items() if k != "open_time"}
    times = np.asarray(spec.columns["open_time"], dtype=np.int64)
    computed = [(i, ind.compute(i, cols)) for i in spec.indicators]
    start = len(times) - spec.visible
    view = {k: v[start:] for k, v in cols.items()}
    times = times[start:]
    n = len(times)
    x = np.arange(n, dtype=np.float64)

    panes = [(i, out) for i, out in computed if i.placement == "pane"]
    fig, axes = _layout(spec.width, spec.height, spec.theme, len(panes))
    price = axes[0]

    o, h, low, c, v = (view[k] for k in ("open", "high", "low", "close", "volume"))
    up = c >= o
    body_w = 0.62 if n < 400 else 0.7
    # Candles: wicks as one LineCollection, bodies as one PolyCollection.
    wick_segments = np.stack([np.column_stack([x, low]), np.column_stack([x, h])], axis=1)
    wick_colors = [t["wick_up"] if u else t["wick_down"] for u in up]
    price.add_collection(
        LineCollection(wick_segments, colors=wick_colors, linewidths=0.8 if n < 400 else 0.5)
    )
    body_bottom = np.minimum(o, c)
    body_top = np.maximum(o, c)
    flat = body_top - body_bottom < (np.nanmax(h) - np.nanmin(low)) * 1e-4
    body_top = np.where(flat, body_bottom + (np.nanmax(h) - np.nanmin(low)) * 1e-4, body_top)
    colors = [t["up"] if u else t["down"] for u in up]
    price.add_collection(
        PolyCollection(
            _bars(x, body_bottom, body_top, body_w),
            facecolors=colors,
            edgecolors=colors,
            linewidths=0.4,
            alpha=t["alpha"],
        )
    )
    lo, hi = float(np.nanmin(low)), float(np.nanmax(h))

    # Overlays on the price pane.
    legend: list[tuple[str, str]] = []
    palette = iter(t["lines"] * 4)
    for indicator, out in computed:
        if indicator.placement != "overlay":
            continue
        values = {k: s[start:] for k, s in out.items()}
        if indicator.name == "BBANDS":
            color = next(palette)
            upper, middle, lower = values["upperband"], values["middleband"], values["lowerband"]
            price.fill_between(x, lower, upper, color=color, alpha=0.08, linewidth=0)
            for series, width in ((upper, 0.8), (middle, 0.7), (lower, 0.8)):
                price.plot(x, series, color=color, linewidth=width, alpha=0.9)
        elif indicator.name == "SUPERTREND":
            price.plot(x, values["up"], color=t["long"], linewidth=1.2)
            price.plot(x, values["down"], color=t["short"], linewidth=1.2)
            color = t["long"]
        elif indicator.name == "SAR":
            color = next(palette)
            price.plot(x, values["real"], linestyle="none", marker=".", markersize=2.5, color=color)
        else:
            color = next(palette)
            price.plot(x, values["real"], color=color, linewidth=1.1)
        legend.append((indicator.label, color))

    # Annotations.
    _annotate(price, spec.marks, times, t, n)
    marked = [m.price for m in spec.marks if m.price is not None]
    if marked:
        lo, hi = min(lo, *marked), max(hi, *marked)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.01 or 1.0
    price.set_ylim(lo - pad, hi + pad)
    price.set_xlim(-1, n)

    # Volume as one PolyCollection (mplfinance draws a Rectangle patch per bar here).
    vol = axes[1]
    vol_colors = [t["vol_up"] if u else t["vol_down"] for u in up]
    vol.add_collection(PolyCollection(_bars(x, np.zeros(n), v, body_w), facecolors=vol_colors, linewidths=0))
    vmax = float(np.nanmax(v)) if n else 0.0
    vol.set_ylim(0, vmax * 1.1 if vmax > 0 else 1.0)
    vol.text(0.005, 0.94, "Volume", transform=vol.transAxes, va="top", color=t["muted"], fontsize=7)

    # Indicator panes.
    for ax, (indicator, out) in zip(axes[2:], panes, strict=True):
        values = {k: s[start:] for k, s in out.items()}
        definition = indicator.definition
        for guide in definition.guides:
            ax.axhline(guide, color=t["muted"], linewidth=0.7, linestyle="--", alpha=0.7)
        if indicator.name == "MACD":
            hist = np.nan_to_num(values["macdhist"])
            hist_colors = [t["long"] if hv >= 0 else t["short"] for hv in hist]
            ax.add_collection(
                PolyCollection(
                    _bars(x, np.zeros(n), hist, body_w), facecolors=hist_colors, linewidths=0, alpha=0.6
                )
            )
            ax.plot(x, values["macd"], color=t["lines"][0], linewidth=1.0)
            ax.plot(x, values["macdsignal"], color=t["lines"][1], linewidth=1.0)
        else:
            for k, name in enumerate(definition.outputs):
                ax.plot(x, values[name], color=t["lines"][k % len(t["lines"])], linewidth=1.0)
        if definition.ylim is not None:
            ax.set_ylim(*definition.ylim)
        else:
            stacked = np.concatenate([s for s in values.values()])
            finite = stacked[np.isfinite(stacked)]
            if finite.size:
                a, b = float(finite.min()), float(finite.max())
                margin = (b - a) * 0.08 or 1.0
                ax.set_ylim(a - margin, b + margin)
            else:
                ax.set_ylim(0.0, 1.0)
        ax.text(0.005, 0.94, indicator.label, transform=ax.transAxes, va="top", color=t["text"], fontsize=7.5)

    # Time axis: a few fixed ticks labelled by hand (cheap and stable).
    count = max(2, min(8, spec.width // 160))
    ticks = np.unique(np.linspace(n * 0.04, (n - 1) * 0.96, count).round().astype(int))
    for k, ax in enumerate(axes):
        _grid(ax, t, ticks, labels=k != 1, small=k >= 2)
    bottom = axes[-1]
    for tick, label in zip(ticks, _time_labels(times, spec.timeframe, ticks), strict=True):
        bottom.text(
            tick,
            -0.04,
            label,
            transform=bottom.get_xaxis_transform(),
            va="top",
            ha="center",
            color=t["text"],
            fontsize=7.5,
            clip_on=False,
        )
    # Title and overlay legend as plain text.
    fig.text(
        12 / spec.width,
        1 - 6 / spec.height,
        f"{spec.symbol} · {spec.timeframe}",
        va="top",
        color=t["text"],
        fontsize=10,
        fontweight="bold",
    )
    offset = 0.0
    for label, color in legend:
        price.text(
            0.005 + offset, 0.985, label, transform=price.transAxes, va="top", color=color, fontsize=7.5
        )
        offset += 0.0075 * (len(label) + 2) * 1280 / spec.width
    return fig


def _x_of(at: float | None, times: np.ndarray, n: int) -> float | None:
    if at is None or n == 0:
        return None
    k = int(np.searchsorted(times, int(at), side="right")) - 1
    return float(min(max(k, 0), n - 1))


def _annotate(ax: Any, marks: tuple[Mark, ...], times: np.ndarray, t: dict[str, Any], n: int) -> None:
    for mark in marks:
        x = _x_of(mark.at, times, n)
        text = mark.text or mark.kind
        if mark.kind in ("entry", "exit") and mark.price is not None:
            color = t["long"] if mark.kind == "entry" else t["short"]
            if x is None:
                ax.axhline(mark.price, color=color, linewidth=0.9, linestyle="-.")
                ax.text(n - 1, mark.price, f" {text} ", color=color, fontsize=7.5, va="bottom", ha="right")
            else:
                ax.plot(
                    [x],
                    [mark.price],
                    marker="^" if mark.kind == "entry" else "v",
                    markersize=8,
                    color=color,
                    markeredgecolor=t["text"],
                    markeredgewidth=0.5,
                    linestyle="none",
                )
                ax.text(x, mark.price, f"  {text}", color=color, fontsize=7.5, va="center", ha="left")
        elif mark.kind in ("stop", "target", "level") and mark.price is not None:
            color = {"stop": t["short"], "target": t["long"], "level": t["level"]}[mark.kind]
            style = {"stop": "--", "target": "--", "level": ":"}[mark.kind]
            ax.axhline(mark.price, color=color, linewidth=1.0, linestyle=style)
            ax.text(
                0.995,
                mark.price,
                f"{text} {mark.price:g}",
                transform=ax.get_yaxis_transform(),
                color=color,
                fontsize=7.5,
                va="bottom",
                ha="right",
            )
        elif mark.kind == "label":
            if mark.price is not None and x is not None:
                ax.annotate(
                    text,
                    (x, mark.price),
                    xytext=(0, 14),
                    textcoords="offset points",
                    ha="center",
                    color=t["text"],
                    fontsize=7.5,
                    arrowprops={"arrowstyle": "-", "color": t["muted"]},
                    bbox={"boxstyle": "round,pad=0.2", "fc": t["face"], "ec": t["muted"], "lw": 0.5},
                )
            else:
                ax.text(
                    0.5,
                    0.97,
                    text,
                    transform=ax.transAxes,
                    ha="center",
                    va="top",
                    color=t["text"],
                    fontsize=8,
                )


def warm_up() -> None:
    """Load fonts and code paths once (the first chart in a process is ~3× slower otherwise)."""
    from .domain import normalise_indicators

    n = 40
    columns: dict[str, Any] = {
        "open_time": np.arange(n, dtype=np.int64) * 3600,
        **{
            k: np.linspace(1.0, 1.1, n) + (0.01 if k == "high" else -0.01 if k == "low" else 0.0)
            for k in ("open", "high", "low", "close")
        },
        "volume": np.ones(n),
    }
    spec = ChartSpec("WARMUP", "1h", normalise_indicators([("RSI", {})]), (), 640, 400, "dark", n, columns)
    render_png(spec)
