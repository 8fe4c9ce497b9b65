"""The renderer: deterministic bytes, every pane present, annotations drawn, themes, flat memory."""

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from tt_chart_render import render
from tt_chart_render.domain import ChartSpec, Mark, normalise_indicators
from tt_chart_render.pool import RenderPool
from tt_chart_render.testing import synthetic_columns

HOUR = 3600


def spec(
    n=120, indicators=(("SMA", {"timeperiod": 20}), ("RSI", {})), marks=(), theme="dark", size=(900, 600)
):
    cols = synthetic_columns(n + 60)
    cols["open_time"] = 1_767_225_600 + HOUR * np.arange(n + 60, dtype=np.int64)
    return ChartSpec(
        "EURUSD", "1h", normalise_indicators(list(indicators)), tuple(marks), *size, theme, n, cols
    )


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, names = 8, []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        names.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return names


def image(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def test_same_input_same_bytes_and_no_metadata():
    a = render.render_png(spec())
    render.render_png(spec(theme="light", indicators=(("MACD", {}),)))  # other work in between
    b = render.render_png(spec())
    render._FIGURES.clear()  # a fresh figure, as in a new worker
    c = render.render_png(spec())
    assert a == b == c
    chunks = png_chunks(a)
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(chunks), chunks
    assert b"Matplotlib" not in zlib.compress(a) and b"Software" not in a


async def test_same_bytes_across_a_worker_restart():
    pool = RenderPool(1)
    try:
        first = await pool.render(spec(marks=(Mark("level", 1.09, None, "AI"),)))
        await pool.stop()  # the worker process is gone; the next render spawns a new one
        second = await pool.render(spec(marks=(Mark("level", 1.09, None, "AI"),)))
    finally:
        await pool.stop()
    assert first == second == render.render_png(spec(marks=(Mark("level", 1.09, None, "AI"),)))


@pytest.mark.parametrize("size", [(640, 400), (1280, 800), (1001, 757)])
def test_image_has_the_requested_dimensions(size):
    assert Image.open(io.BytesIO(render.render_png(spec(size=size)))).size == size


def test_every_requested_pane_is_laid_out_and_a_pane_changes_the_layout():
    one = render.layout(spec(indicators=(("SMA", {}), ("RSI", {}))))
    three = render.layout(spec(indicators=(("SMA", {}), ("RSI", {}), ("MACD", {}), ("STOCH", {}))))
    assert [label for label, _ in one] == ["price", "volume", "RSI(14)"]
    assert [label for label, _ in three] == ["price", "volume", "RSI(14)", "MACD(12,26,9)", "STOCH(14,3,3)"]
    price_one, price_three = one[0][1], three[0][1]
    assert price_three.height < price_one.height, "more panes leave less room for price"
    tops = [box.y0 for _, box in three]
    assert tops == sorted(tops, reverse=True), "panes stack top to bottom without overlap"
    assert render.render_png(spec(indicators=(("RSI", {}),))) != render.render_png(
        spec(indicators=(("RSI", {}), ("ATR", {})))
    )


def _count_near(img: np.ndarray, rgb: tuple[int, int, int], tol: int = 12) -> int:
    return int((np.abs(img - np.array(rgb)).max(axis=2) <= tol).sum())


def test_annotations_are_drawn():
    at = float(1_767_225_600 + HOUR * 120)
    marks = (
        Mark("entry", 1.07, at, "long"),
        Mark("stop", 1.05, None, "SL"),
        Mark("target", 1.09, None, "TP"),
        Mark("level", 1.08, None, "AI level"),
        Mark("label", 1.07, at, "breakout"),
    )
    plain = spec(indicators=(), theme="light")
    marked = spec(indicators=(), marks=marks, theme="light")
    a, b = image(render.render_png(plain)), image(render.render_png(marked))
    theme = render.theme("light")
    short = tuple(int(theme["short"][i : i + 2], 16) for i in (1, 3, 5))
    long_ = tuple(int(theme["long"][i : i + 2], 16) for i in (1, 3, 5))
    assert _count_near(b, short) > _count_near(a, short) + 200, "stop line"
    assert _count_near(b, long_) > _count_near(a, long_) + 200, "target line and entry marker"
    # The stop line is horizontal: one row carries it across most of the price pane.
    rows = (np.abs(b - np.array(short)).max(axis=2) <= 12).sum(axis=1)
    assert rows.max() > 0.4 * b.shape[1]


def test_dark_and_light_themes():
    dark, light = image(render.render_png(spec(theme="dark"))), image(render.render_png(spec(theme="light")))
    assert dark.mean() < 60 < 180 < light.mean()


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def _memory_growth(count: int) -> float:
    specs = [spec(n=40 + k % 5, size=(480, 320), theme="dark" if k % 2 else "light") for k in range(count)]
    for s in specs[:10]:
        render.render_png(s)
    before = _rss_mb()
    for s in specs:
        render.render_png(s)
    return _rss_mb() - before


def test_memory_stays_flat_over_200_renders():
    growth = _memory_growth(200)
    assert growth < 12, f"RSS grew {growth:.1f} MB over 200 renders"


@pytest.mark.slow
def test_memory_stays_flat_over_1000_renders():
    growth = _memory_growth(1000)
    assert growth < 15, f"RSS grew {growth:.1f} MB over 1000 renders"
