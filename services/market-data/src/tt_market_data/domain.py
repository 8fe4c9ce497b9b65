"""Pure market-data rules: bar grids, tick → candle aggregation, gaps, deterministic ids.

No broker, database or HTTP here (a test enforces it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tt_contracts.common import Timeframe

TIMEFRAMES: tuple[str, ...] = tuple(tf.value for tf in Timeframe)
TIMEFRAME_SECONDS: dict[str, int] = {tf.value: tf.seconds for tf in Timeframe}
# Weeks open on Monday 00:00 UTC (as Capital.com's WEEK bars); every grid is anchored there.
GRID_ANCHOR = datetime(1970, 1, 5, tzinfo=UTC)
CANDLE_NAMESPACE = uuid.UUID("6f1d4d52-9a43-4c1e-8f0a-3c8f2b1d7e10")
QUOTE_NAMESPACE = uuid.UUID("0b3c2a9e-61d4-4f57-9a2e-5d7c1e8f4a21")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def step(timeframe: str) -> timedelta:
    return timedelta(seconds=TIMEFRAME_SECONDS[timeframe])


def bar_open(moment: datetime, timeframe: str) -> datetime:
    """Open time of the ``timeframe`` bar holding ``moment``."""
    seconds = TIMEFRAME_SECONDS[timeframe]
    offset = (moment - GRID_ANCHOR).total_seconds()
    return GRID_ANCHOR + timedelta(seconds=(offset // seconds) * seconds)


def candle_message_id(venue: str, symbol: str, timeframe: str, open_time: datetime) -> uuid.UUID:
    """The same bar always gets the same id: replicas and restarts de-duplicate on the stream."""
    stamp = open_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return uuid.uuid5(CANDLE_NAMESPACE, f"{venue}|{symbol}|{timeframe}|{stamp}")


def quote_message_id(venue: str, symbol: str, ts: datetime, bid: Decimal, ask: Decimal) -> uuid.UUID:
    return uuid.uuid5(QUOTE_NAMESPACE, f"{venue}|{symbol}|{ts.isoformat()}|{bid}|{ask}")


@dataclass(frozen=True, slots=True)
class Candle:
    """One bar, bid and ask OHLC (ask may be unknown for uploaded data), with its provenance."""

    open_time: datetime
    bid_open: Decimal
    bid_high: Decimal
    bid_low: Decimal
    bid_close: Decimal
    ask_open: Decimal | None = None
    ask_high: Decimal | None = None
    ask_low: Decimal | None = None
    ask_close: Decimal | None = None
    volume: Decimal = Decimal(0)
    source: str = "broker"

    def row(self, instrument_id: int, timeframe: str) -> tuple:
        return (
            instrument_id,
            timeframe,
            self.open_time,
            self.bid_open,
            self.bid_high,
            self.bid_low,
            self.bid_close,
            self.ask_open,
            self.ask_high,
            self.ask_low,
            self.ask_close,
            self.volume,
            self.source,
        )


# --- live aggregation ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Building:
    open_time: datetime
    bid: list[Decimal]  # open, high, low, close
    ask: list[Decimal]
    ticks: int
    partial: bool


@dataclass(frozen=True, slots=True)
class ClosedBar:
    epic: str
    timeframe: str
    candle: Candle
    partial: bool = False  # the stream (re)started inside this bar: its first ticks were not seen


@dataclass
class TickAggregator:
    """Builds bid/ask candles of every timeframe from ticks.

    A bar closes when a tick of a later bar arrives or when ``flush(now)`` passes its end (``now`` is
    the venue clock, i.e. the newest tick time seen on any instrument). After ``restart(epic)`` (a
    stream (re)connect) the bars in progress are marked partial: the caller completes them from REST.
    """

    timeframes: tuple[str, ...] = TIMEFRAMES
    _bars: dict[tuple[str, str], _Building] = field(default_factory=dict)
    _session_start: dict[str, datetime | None] = field(default_factory=dict)
    _last_closed: dict[tuple[str, str], datetime] = field(default_factory=dict)
    clock: datetime | None = None

    def restart(self, epic: str | None = None) -> None:
        epics = [epic] if epic else list({e for e, _ in self._bars} | set(self._session_start))
        for e in epics:
            self._session_start[e] = None
            for tf in self.timeframes:
                self._bars.pop((e, tf), None)

    def add(self, epic: str, ts: datetime, bid: Decimal, ask: Decimal) -> list[ClosedBar]:
        closed: list[ClosedBar] = []
        if self.clock is None or ts > self.clock:
            self.clock = ts
        start = self._session_start.get(epic)
        if start is None:
            start = self._session_start[epic] = ts
        for tf in self.timeframes:
            key = (epic, tf)
            opened = bar_open(ts, tf)
            bar = self._bars.get(key)
            last = self._last_closed.get(key)
            if (bar is not None and opened < bar.open_time) or (last is not None and opened <= last):
                continue  # a late tick of a bar already closed: ignored
            if bar is not None and opened > bar.open_time:
                closed.append(self._close(epic, tf, bar))
                self._last_closed[key] = bar.open_time
                bar = None
            if bar is None:
                self._bars[key] = _Building(
                    opened, [bid, bid, bid, bid], [ask, ask, ask, ask], 1, start > opened
                )
                continue
            bar.bid[1] = max(bar.bid[1], bid)
            bar.bid[2] = min(bar.bid[2], bid)
            bar.bid[3] = bid
            bar.ask[1] = max(bar.ask[1], ask)
            bar.ask[2] = min(bar.ask[2], ask)
            bar.ask[3] = ask
            bar.ticks += 1
        return closed

    def flush(self, now: datetime | None = None) -> list[ClosedBar]:
        """Close every bar whose interval ended by ``now`` (default: the newest tick time seen)."""
        now = now or self.clock
        if now is None:
            return []
        closed = []
        for (epic, tf), bar in list(self._bars.items()):
            if bar.open_time + step(tf) <= now:
                closed.append(self._close(epic, tf, bar))
                self._last_closed[(epic, tf)] = bar.open_time
                del self._bars[(epic, tf)]
        return closed

    @staticmethod
    def _close(epic: str, tf: str, bar: _Building) -> ClosedBar:
        candle = Candle(bar.open_time, *bar.bid, *bar.ask, volume=Decimal(bar.ticks), source="broker")
        return ClosedBar(epic, tf, candle, bar.partial)


# --- trading hours and gaps ---------------------------------------------------------------------


@dataclass(frozen=True)
class TradingHours:
    """Per weekday the open minute ranges [start, end) in UTC; ``None`` hours = always open."""

    segments: tuple[tuple[tuple[int, int], ...], ...]

    @classmethod
    def parse(cls, hours: dict[str, list[str]] | None) -> TradingHours:
        if not hours:
            return cls(tuple(((0, 1440),) for _ in DAYS))
        days = []
        for day in DAYS:
            segs = []
            for text in hours.get(day, []):
                start_text, end_text = (p.strip() for p in text.split("-"))
                start, end = _minutes(start_text), _minutes(end_text)
                segs.append((start, end or 1440))
            days.append(tuple(segs))
        return cls(tuple(days))

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """True when the market is open at some minute of [start, end)."""
        cursor = start
        while cursor < end:
            day_start = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
            day_end = min(end, day_start + timedelta(days=1))
            lo = int((cursor - day_start).total_seconds() // 60)
            hi = int((day_end - day_start).total_seconds() // 60 + 0.999)
            if any(s < hi and lo < e for s, e in self.segments[cursor.weekday()]):
                return True
            cursor = day_end
        return False

    def week_mask(self, timeframe: str) -> tuple[bool, ...]:
        """Per slot of the ``timeframe`` grid over one week from Monday 00:00 UTC: whether the market
        is open at some minute of it (the rule of ``overlaps``, for every slot at once)."""
        minutes = [False] * (7 * 1440)
        for day, segments in enumerate(self.segments):
            for start, end in segments:
                minutes[day * 1440 + start : day * 1440 + end] = [True] * max(0, end - start)
        width = TIMEFRAME_SECONDS[timeframe] // 60
        return tuple(any(minutes[i : i + width]) for i in range(0, len(minutes), width))


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def find_gaps(
    open_times: Iterable[datetime],
    timeframe: str,
    start: datetime,
    end: datetime,
    is_open: Callable[[datetime, datetime], bool] = lambda a, b: True,
    limit: int = 1000,
) -> list[datetime]:
    """Open times on the grid in [start, end) that have no bar although the market was open."""
    have = set(open_times)
    width = step(timeframe)
    cursor = bar_open(start, timeframe)
    if cursor < start:
        cursor += width
    gaps: list[datetime] = []
    while cursor < end and len(gaps) < limit:
        if cursor not in have and is_open(cursor, cursor + width):
            gaps.append(cursor)
        cursor += width
    return gaps


def with_source(candle: Candle, source: str) -> Candle:
    return replace(candle, source=source)


class OpenSlots:
    """Counts the grid slots of one timeframe inside trading hours over any span, in constant time:
    the grid is anchored on a Monday and the hours repeat weekly, so prefix sums over one week do."""

    def __init__(self, hours: TradingHours, timeframe: str) -> None:
        self.mask = hours.week_mask(timeframe)
        self.width = step(timeframe)
        self.prefix = [0]
        for is_open in self.mask:
            self.prefix.append(self.prefix[-1] + is_open)

    def _before(self, moment: datetime) -> int:
        """Open slots opening at or after the anchor and before ``moment``."""
        index = -((GRID_ANCHOR - moment) // self.width)  # ceiling: a slot opening at ``moment`` is out
        weeks, rest = divmod(index, len(self.mask))
        return weeks * self.prefix[-1] + self.prefix[rest]

    def count(self, start: datetime, end: datetime) -> int:
        """Open slots whose open time is in [start, end)."""
        return max(0, self._before(end) - self._before(start))

    def is_open(self, open_time: datetime) -> bool:
        return self.mask[((open_time - GRID_ANCHOR) // self.width) % len(self.mask)]

    def gaps(self, first: datetime, last: datetime, open_bars: int) -> int:
        """Missing bars inside trading hours from ``first`` to ``last`` (what ``find_gaps`` lists, counted),
        given how many stored bars of the span lie on open slots (bars are distinct and on the grid)."""
        return max(0, self.count(first, last + self.width) - open_bars)
