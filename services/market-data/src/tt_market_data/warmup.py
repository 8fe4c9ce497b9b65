"""Recent history for the streamed instruments, fetched once the live feed holds its lease.

Bots and charts need bars before the first live one closes: after a start (or a restart that missed
bars) each streamed instrument is backfilled over a window per timeframe. The backfill is resumable
and its writes are idempotent, so running it on every start only fetches what is missing; the
client's rate limiter keeps it inside the venue's limits while the live stream runs.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from tt_contracts import market_data as md
from tt_contracts.common import InstrumentRef, Timeframe

from .service import VENUE, MarketData

log = structlog.get_logger(__name__)


async def backfill_recent(service: MarketData, epics: list[str], windows_days: dict[str, float]) -> int:
    """Backfill every (epic, timeframe) over its window; returns the bars inserted. A failure on one
    series is logged and the others go on (the next start resumes it)."""
    inserted = 0
    now = await service.provider.server_time()  # the venue's clock decides which bars are closed
    for timeframe, days in windows_days.items():
        for epic in epics:
            request = md.BackfillRequest(
                producer="market-data",
                instrument=InstrumentRef(venue=VENUE, symbol=epic),
                timeframe=Timeframe(timeframe),
                start=now - timedelta(days=days),
            )
            try:
                reply = await service.backfill(request)
            except Exception as exc:
                log.warning("warm-up backfill failed", epic=epic, timeframe=timeframe, error=str(exc))
                continue
            inserted += reply.inserted
    log.info("warm-up backfill done", epics=len(epics), series=len(epics) * len(windows_days), bars=inserted)
    return inserted
