"""A seeded, deterministic price process: one path per instrument that both history and live ticks read.

The path is built in three levels so that any moment can be computed without replaying the past:

1. a daily log-price walk (mean-reverting, with weekly trend/volatility regimes) over the whole
   history window, computed once per instrument;
2. per day, a minute path as a Brownian bridge between that day's and the next day's level, with a
   high/low excursion per minute (cached per day);
3. per minute, ticks on a fixed grid that start at the minute's open, touch its high and low, and end
   at its close (generated on demand).

Because every tick of a minute lies inside that minute's high/low and hits all four values exactly,
bars aggregated from minutes equal bars aggregated from the ticks that streaming pushed. Markets that
are closed simply have no ticks; the walk goes on underneath, so prices gap at the re-open.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np

from .instruments import Instrument

ANCHOR = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday; Instrument.price is the mid here
MINUTES_PER_DAY = 1440
FORWARD_DAYS = 15 * 366

RESOLUTIONS: dict[str, int] = {
    "MINUTE": 60,
    "MINUTE_5": 300,
    "MINUTE_15": 900,
    "MINUTE_30": 1800,
    "HOUR": 3600,
    "HOUR_4": 14400,
    "DAY": 86400,
    "WEEK": 604800,
}

# Weekly regimes: (annualised drift, volatility multiplier). Picked at random per week.
_REGIMES = ((0.0, 0.7), (0.0, 1.0), (0.6, 1.0), (-0.6, 1.1), (0.0, 1.8), (1.2, 1.4), (-1.2, 1.6))


@dataclass(frozen=True)
class Quote:
    epic: str
    bid: Decimal
    ask: Decimal
    mid: float
    time: datetime  # the tick's own timestamp
    open: bool  # market open at the time asked


@dataclass(frozen=True)
class Bar:
    """Aggregated mid path over a window; turned into bid/ask by the caller."""

    start: datetime
    open: float
    high: float
    low: float
    close: float
    ticks: int


def minute_index(when: datetime) -> int:
    return math.floor((when - ANCHOR).total_seconds() / 60)


def minute_start(index: int) -> datetime:
    return ANCHOR + timedelta(minutes=index)


def bar_start(when: datetime, resolution: str) -> datetime:
    """Open time of the bar of `resolution` that contains `when` (weeks start on Monday 00:00 UTC)."""
    seconds = RESOLUTIONS[resolution]
    offset = math.floor((when - ANCHOR).total_seconds() / seconds) * seconds
    return ANCHOR + timedelta(seconds=offset)


class PriceProcess:
    def __init__(self, seed: int, instruments: dict[str, Instrument], tick_seconds: int, history_years: int):
        self.seed = seed
        self.instruments = instruments
        self.tick_seconds = tick_seconds
        self.ticks_per_minute = 60 // tick_seconds
        self.back_days = history_years * 366
        self.history_start = ANCHOR - timedelta(days=self.back_days)
        self._day_logs: dict[str, np.ndarray] = {}
        self._day_vol: dict[str, np.ndarray] = {}
        self._minutes = lru_cache(maxsize=512)(self._build_minutes)
        self._day_summary = lru_cache(maxsize=200_000)(self._build_day_summary)
        self._ticks = lru_cache(maxsize=4096)(self._build_ticks)
        self._masks = {epic: self._build_masks(i) for epic, i in instruments.items()}

    # ---- level 1: daily walk -------------------------------------------------------------------
    def _key(self, epic: str) -> int:
        return zlib.crc32(epic.encode())

    def _daily(self, epic: str) -> tuple[np.ndarray, np.ndarray]:
        if epic not in self._day_logs:
            instrument = self.instruments[epic]
            days = self.back_days + FORWARD_DAYS + 2
            rng = np.random.default_rng([self.seed, self._key(epic), 1])
            weeks = days // 7 + 1
            regime = rng.integers(0, len(_REGIMES), size=weeks)
            drift = np.array([_REGIMES[r][0] for r in regime]).repeat(7)[:days] * instrument.annual_vol
            vol_mult = np.array([_REGIMES[r][1] for r in regime]).repeat(7)[:days]
            shocks = rng.standard_normal(days) * instrument.annual_vol * vol_mult / math.sqrt(365)
            returns = drift / 365 + shocks
            logs = np.empty(days)
            level = 0.0
            for i, step in enumerate(returns):  # mean reversion keeps 20 years of prices plausible
                level = level * (1 - 1 / 400) + step
                logs[i] = level
            logs -= logs[self.back_days]
            self._day_logs[epic] = logs
            self._day_vol[epic] = instrument.annual_vol * vol_mult
        return self._day_logs[epic], self._day_vol[epic]

    # ---- level 2: minutes of a day -------------------------------------------------------------
    def _build_minutes(self, epic: str, day: int) -> np.ndarray:
        """Mid OHLC per minute of `day` (days since ANCHOR), shape (1440, 4), plus the path."""
        logs, vols = self._daily(epic)
        i = day + self.back_days
        if i < 0 or i + 1 >= len(logs):
            raise ValueError("day outside the simulated history")
        rng = np.random.default_rng([self.seed, self._key(epic), 2, i])
        sigma = vols[i] / math.sqrt(365 * MINUTES_PER_DAY)
        walk = np.concatenate(([0.0], np.cumsum(rng.standard_normal(MINUTES_PER_DAY) * sigma)))
        frac = np.arange(MINUTES_PER_DAY + 1) / MINUTES_PER_DAY
        path = logs[i] + walk - frac * walk[-1] + frac * (logs[i + 1] - logs[i])
        base = float(self.instruments[epic].price)
        opens, closes = base * np.exp(path[:-1]), base * np.exp(path[1:])
        up = np.exp(np.abs(rng.standard_normal(MINUTES_PER_DAY)) * sigma * 0.6)
        down = np.exp(-np.abs(rng.standard_normal(MINUTES_PER_DAY)) * sigma * 0.6)
        highs = np.maximum(opens, closes) * up
        lows = np.minimum(opens, closes) * down
        out = np.stack([opens, highs, lows, closes], axis=1)
        out.setflags(write=False)
        return out

    def _build_masks(self, instrument: Instrument) -> list[np.ndarray]:
        masks = []
        for weekday in range(7):
            mask = np.zeros(MINUTES_PER_DAY, dtype=bool)
            for start, end in instrument.open_segments(weekday):
                mask[start:end] = True
            masks.append(mask)
        return masks

    def is_open_minute(self, epic: str, minute: int) -> bool:
        day, of_day = divmod(minute, MINUTES_PER_DAY)
        return bool(self._masks[epic][day % 7][of_day])

    def _build_day_summary(self, epic: str, day: int) -> tuple[float, float, float, float, int] | None:
        mask = self._masks[epic][day % 7]
        if not mask.any():
            return None
        rows = self._minutes(epic, day)[mask]
        return (
            float(rows[0, 0]),
            float(rows[:, 1].max()),
            float(rows[:, 2].min()),
            float(rows[-1, 3]),
            int(mask.sum()) * self.ticks_per_minute,
        )

    # ---- level 3: ticks ------------------------------------------------------------------------
    def _build_ticks(self, epic: str, minute: int) -> np.ndarray:
        day, of_day = divmod(minute, MINUTES_PER_DAY)
        o, h, lo, c = self._minutes(epic, day)[of_day]
        n = self.ticks_per_minute
        rng = np.random.default_rng(
            [self.seed, self._key(epic), 3, minute + self.back_days * MINUTES_PER_DAY]
        )
        first, second = sorted(rng.choice(np.arange(1, n - 1), size=2, replace=False))
        extremes = (h, lo) if rng.random() < 0.5 else (lo, h)
        anchors_x = [0, first, second, n - 1]
        anchors_y = [o, extremes[0], extremes[1], c]
        ticks = np.interp(np.arange(n), anchors_x, anchors_y)
        ticks += rng.standard_normal(n) * (h - lo) * 0.15
        ticks = np.clip(ticks, lo, h)
        ticks[anchors_x] = anchors_y
        ticks.setflags(write=False)
        return ticks

    # ---- public reads --------------------------------------------------------------------------
    def bid_ask(self, instrument: Instrument, mid: float) -> tuple[Decimal, Decimal]:
        bid = Decimal(f"{mid - float(instrument.spread) / 2:.{instrument.decimals}f}")
        return bid, bid + instrument.spread

    def quote(self, epic: str, when: datetime) -> Quote:
        """The last tick at or before `when`; outside trading hours, the last tick before the close."""
        instrument = self.instruments[epic]
        minute = minute_index(when)
        is_open = self.is_open_minute(epic, minute)
        if is_open:
            offset = (when - minute_start(minute)).total_seconds()
            k = min(int(offset // self.tick_seconds), self.ticks_per_minute - 1)
        else:
            minute = self.last_open_minute(epic, minute)
            k = self.ticks_per_minute - 1
        mid = float(self._ticks(epic, minute)[k])
        bid, ask = self.bid_ask(instrument, mid)
        stamp = minute_start(minute) + timedelta(seconds=k * self.tick_seconds)
        return Quote(epic, bid, ask, mid, stamp, is_open)

    def last_open_minute(self, epic: str, minute: int) -> int:
        day, of_day = divmod(minute, MINUTES_PER_DAY)
        for back in range(0, 15):
            mask = self._masks[epic][(day - back) % 7]
            limit = of_day if back == 0 else MINUTES_PER_DAY
            open_minutes = np.flatnonzero(mask[:limit])
            if open_minutes.size:
                return (day - back) * MINUTES_PER_DAY + int(open_minutes[-1])
        raise ValueError(f"{epic} has no trading hours")

    def ticks_between(self, epic: str, after: datetime, until: datetime):
        """Yield (time, mid) of every tick with after < time <= until, skipping closed minutes."""
        first, last = minute_index(after), minute_index(until)
        for minute in range(first, last + 1):
            if not self.is_open_minute(epic, minute):
                continue
            start = minute_start(minute)
            ticks = self._ticks(epic, minute)
            for k in range(self.ticks_per_minute):
                stamp = start + timedelta(seconds=k * self.tick_seconds)
                if after < stamp <= until:
                    yield stamp, float(ticks[k])

    def minute_range(self, epic: str, minute: int) -> tuple[float, float] | None:
        """(low, high) mid of an open minute, used to skip minutes that cannot trigger anything."""
        if not self.is_open_minute(epic, minute):
            return None
        day, of_day = divmod(minute, MINUTES_PER_DAY)
        row = self._minutes(epic, day)[of_day]
        return float(row[2]), float(row[1])

    def aggregate(self, epic: str, start: datetime, stop: datetime, now: datetime) -> Bar | None:
        """Mid OHLC of ticks with start <= time < stop and time <= now; None when no tick exists."""
        parts: list[tuple[float, float, float, float, int]] = []
        m_start, m_stop, m_now = minute_index(start), minute_index(stop), minute_index(now)
        full_stop = min(m_stop, m_now)
        minute = m_start
        while minute < full_stop:
            day, of_day = divmod(minute, MINUTES_PER_DAY)
            if of_day == 0 and minute + MINUTES_PER_DAY <= full_stop:
                summary = self._day_summary(epic, day)
                if summary:
                    parts.append(summary)
                minute += MINUTES_PER_DAY
                continue
            end = min(full_stop, (day + 1) * MINUTES_PER_DAY)
            mask = self._masks[epic][day % 7][of_day : of_day + end - minute]
            if mask.any():
                rows = self._minutes(epic, day)[of_day : of_day + end - minute][mask]
                parts.append(
                    (
                        float(rows[0, 0]),
                        float(rows[:, 1].max()),
                        float(rows[:, 2].min()),
                        float(rows[-1, 3]),
                        int(mask.sum()) * self.ticks_per_minute,
                    )
                )
            minute = end
        if m_start <= m_now < m_stop and self.is_open_minute(epic, m_now):
            seen = int((now - minute_start(m_now)).total_seconds() // self.tick_seconds) + 1
            ticks = self._ticks(epic, m_now)[: min(seen, self.ticks_per_minute)]
            parts.append(
                (float(ticks[0]), float(ticks.max()), float(ticks.min()), float(ticks[-1]), len(ticks))
            )
        if not parts:
            return None
        return Bar(
            start=start,
            open=parts[0][0],
            high=max(p[1] for p in parts),
            low=min(p[2] for p in parts),
            close=parts[-1][3],
            ticks=sum(p[4] for p in parts),
        )

    def bar(self, epic: str, resolution: str, start: datetime, now: datetime) -> Bar | None:
        return self.aggregate(epic, start, start + timedelta(seconds=RESOLUTIONS[resolution]), now)
