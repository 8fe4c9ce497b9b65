"""Whole candle replies, cached in process.

Bots on one market ask for the same bars and indicators on every close; the reply for a given request
shape changes only when its series is written. Each entry carries the series revision it was built at
(see ``repository.series_revision``), so a hit costs one primary-key lookup and never serves a bar that
was replaced since, whichever replica wrote it. Bounded by the bars held, not the entries, because a
reply holds between one and 5,000 bars.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from tt_contracts import market_data as md


def reply_key(instrument_id: int, request: md.GetCandles) -> tuple:
    indicators = tuple((i.name.upper(), tuple(sorted(i.params.items()))) for i in request.indicators)
    return (
        instrument_id,
        request.timeframe.value,
        request.start,
        request.end,
        request.limit,
        request.price,
        indicators,
    )


class ReplyCache:
    def __init__(self, max_bars: int) -> None:
        self.max_bars = max_bars
        self.bars = 0
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Any, tuple[int, md.CandlesReply, int]] = OrderedDict()

    def get(self, key: Any, revision: int) -> md.CandlesReply | None:
        entry = self._data.get(key)
        if entry is None or entry[0] != revision:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: Any, revision: int, reply: md.CandlesReply) -> None:
        size = max(1, len(reply.open_time))
        if size > self.max_bars:
            return
        old = self._data.pop(key, None)
        if old is not None:
            self.bars -= old[2]
        self._data[key] = (revision, reply, size)
        self.bars += size
        while self.bars > self.max_bars:
            _, (_, _, dropped) = self._data.popitem(last=False)
            self.bars -= dropped

    def clear(self) -> None:
        self._data.clear()
        self.bars = 0
