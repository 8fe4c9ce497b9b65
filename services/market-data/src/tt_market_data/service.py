"""Use cases of the market-data service: each one is a transaction boundary."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import numpy as np
import psycopg
import structlog

from tt_contracts import market_data as md
from tt_contracts.common import InstrumentRef
from tt_runtime.db import UnitOfWork
from tt_runtime.errors import ConflictError, NotFoundError, PermanentError, TransientError
from tt_runtime.service import ServiceRuntime

from . import repository as repo
from .adapters.capitalcom import CapitalComProvider
from .domain import (
    TIMEFRAMES,
    ClosedBar,
    OpenSlots,
    TradingHours,
    bar_open,
    candle_message_id,
    find_gaps,
    step,
)
from .indicators import IndicatorCache, IndicatorError, compute_many
from .reads import ReadConnections
from .replies import ReplyCache, reply_key
from .settings import Settings
from .uploads import parse_and_validate

log = structlog.get_logger(__name__)

VENUE = "capitalcom"
UPLOAD_VENUE = "upload"
GAP_REPORT_LIMIT = 200
COVERAGE_CACHE_SIZE = 1024  # instruments whose coverage is kept, keyed by their series revisions


def instrument_view(row: Any) -> md.InstrumentView:
    rules = row.dealing_rules
    hours = dict(repo.hours_of(row) or {})
    zone = hours.pop("zone", None)
    return md.InstrumentView(
        instrument=InstrumentRef(venue=row.venue, symbol=row.symbol),
        name=row.name,
        instrument_type=row.instrument_type,
        currency=row.currency,
        status=row.status,
        dealing_rules=md.DealingRulesView(**rules) if rules else None,
        trading_hours=hours or None,
        trading_hours_zone=zone,
    )


class MarketData:
    def __init__(self, runtime: ServiceRuntime, settings: Settings, provider: CapitalComProvider) -> None:
        self.runtime = runtime
        self.settings = settings
        self.provider = provider
        self.cache = IndicatorCache(settings.indicator_cache_size)
        self.replies = ReplyCache(settings.reply_cache_bars)
        self._coverage: dict[int, tuple[tuple[tuple[str, int], ...], md.CoverageReply]] = {}
        self.reads = ReadConnections(settings.database_url, settings.read_connections)
        self._hours: dict[int, TradingHours] = {}
        self._slots: dict[tuple[int, str], OpenSlots] = {}
        # (venue, symbol) -> (expiry, row): instruments change on a sync, which clears this; another
        # replica's sync shows up within ``instrument_cache_seconds``.
        self._instruments: dict[tuple[str, str], tuple[float, Any]] = {}

    def uow(self) -> UnitOfWork:
        return self.runtime.unit_of_work()

    # --- instruments ------------------------------------------------------------------------
    async def sync_instruments(self) -> md.SyncReply:
        records = await self.provider.catalogue()
        async with self.uow() as uow:
            await repo.upsert_instruments(uow, VENUE, records)
            types = await repo.count_by_type(uow, VENUE)
        self._forget_instruments()
        log.info("instruments synced", count=len(records))
        return md.SyncReply(instruments=len(records), types=types)

    async def search(self, request: md.SearchInstruments, uow: UnitOfWork) -> md.InstrumentsReply:
        rows = await repo.search_instruments(
            uow, request.text, request.instrument_type, request.limit, request.offset
        )
        return md.InstrumentsReply(instruments=[instrument_view(r) for r in rows])

    async def _instrument(self, uow: UnitOfWork, ref: InstrumentRef, user_id: UUID | None = None) -> Any:
        row = await repo.find_instrument(uow, ref.venue, ref.symbol)
        if row is None or (row.owner_user_id is not None and row.owner_user_id != user_id):
            raise NotFoundError(f"unknown instrument {ref.venue}:{ref.symbol}")
        return row

    async def _read_instrument(
        self, conn: psycopg.AsyncConnection, ref: InstrumentRef, user_id: UUID | None = None
    ) -> Any:
        """``_instrument`` for pure reads: from memory when known, else on the read connection."""
        key = (ref.venue, ref.symbol)
        now = time.monotonic()
        cached = self._instruments.get(key)
        if cached is not None and cached[0] > now:
            row = cached[1]
        else:
            row = await repo.read_instrument(conn, ref.venue, ref.symbol)
            if row is not None:
                self._instruments[key] = (now + self.settings.instrument_cache_seconds, row)
        if row is None or (row.owner_user_id is not None and row.owner_user_id != user_id):
            raise NotFoundError(f"unknown instrument {ref.venue}:{ref.symbol}")
        return row

    def _forget_instruments(self) -> None:
        self._instruments.clear()
        self._hours.clear()
        self._slots.clear()

    def hours(self, row: Any) -> TradingHours:
        if row.id not in self._hours:
            self._hours[row.id] = TradingHours.parse(repo.hours_of(row))
        return self._hours[row.id]

    def open_slots(self, row: Any, timeframe: str) -> OpenSlots:
        key = (row.id, timeframe)
        if key not in self._slots:
            self._slots[key] = OpenSlots(self.hours(row), timeframe)
        return self._slots[key]

    # --- watchlists -------------------------------------------------------------------------
    async def watchlist(self, uow: UnitOfWork, user_id: UUID, name: str) -> md.WatchlistReply:
        rows = await repo.watchlist(uow, user_id, name)
        return md.WatchlistReply(name=name, instruments=[instrument_view(r) for r in rows])

    async def watchlist_change(
        self, request: md.WatchlistChange, uow: UnitOfWork, add: bool
    ) -> md.WatchlistReply:
        row = await self._instrument(uow, request.instrument, request.user_id)
        if add:
            await repo.watchlist_add(uow, request.user_id, request.name, row.id)
        else:
            await repo.watchlist_remove(uow, request.user_id, request.name, row.id)
        return await self.watchlist(uow, request.user_id, request.name)

    # --- history ----------------------------------------------------------------------------
    async def backfill(self, request: md.BackfillRequest) -> md.BackfillReply:
        """Fetch [start, end] page by page; each page commits with the resume point, so an interrupted
        backfill continues where it stopped. Gaps (missing bars inside trading hours) are reported."""
        tf = request.timeframe.value
        async with self.uow() as uow:
            row = await self._instrument(uow, request.instrument)
            state = await repo.get_backfill_state(uow, row.id, tf)
        if row.venue != VENUE:
            raise PermanentError("only venue instruments can be backfilled")
        # Only closed bars are history: the bar in progress at the venue's clock is left to the live feed.
        last_closed = bar_open(await self.provider.server_time(), tf) - step(tf)
        end = min(request.end, last_closed) if request.end else last_closed
        start = bar_open(request.start, tf)
        cursor, resumed = start, None
        if state is not None and state.covered_from <= start <= state.complete_until:
            cursor = resumed = state.complete_until + step(tf)
        covered_from = min(start, state.covered_from) if state is not None and resumed else start
        inserted = fetched = 0
        if cursor <= end:
            pages = self.provider.history(row.symbol, tf, cursor, end)
            while True:
                try:
                    page = await anext(pages)
                except StopAsyncIteration:
                    break
                except TransientError as exc:
                    if exc.retry_after is None:
                        raise
                    await asyncio.sleep(exc.retry_after)  # rate limited: resume after the venue's delay
                    pages = self.provider.history(row.symbol, tf, cursor, end)
                    continue
                if not page:
                    continue
                fetched += len(page)
                async with self.uow() as uow:
                    conn = await repo.pg(uow)
                    inserted += await repo.copy_candles(conn, (c.row(row.id, tf) for c in page), update=False)
                    await repo.save_backfill_state(uow, row.id, tf, covered_from, page[-1].open_time)
                cursor = page[-1].open_time + step(tf)
        async with self.uow() as uow:
            conn = await repo.pg(uow)
            have = await repo.open_times(conn, row.id, tf, start, end + step(tf))
            complete_until = have[-1] if have else None
            gaps = find_gaps(
                have, tf, start, min(end, complete_until or start), self.hours(row).overlaps, GAP_REPORT_LIMIT
            )
            if complete_until is not None:
                await repo.save_backfill_state(uow, row.id, tf, covered_from, complete_until, gaps)
        return md.BackfillReply(
            instrument=request.instrument,
            timeframe=request.timeframe,
            inserted=inserted,
            fetched=fetched,
            resumed_from=resumed,
            complete_until=complete_until,
            gaps=gaps,
        )

    async def candles(self, request: md.GetCandles) -> md.CandlesReply:
        """A pure read: no unit of work. A reply cached at the series' current revision is returned
        as is; otherwise one range query builds it."""
        tf = request.timeframe.value
        async with self.reads.connection() as conn:
            row = await self._read_instrument(conn, request.instrument, request.user_id)
            key = reply_key(row.id, request)
            revision = await repo.series_revision(conn, row.id, tf)
            cached = self.replies.get(key, revision)
            if cached is not None:
                return cached
            rows = await repo.read_candles(
                conn, row.id, tf, request.start, request.end, request.limit, request.price
            )
        reply = self.columnar(row, request, rows, revision)
        self.replies.put(key, revision, reply)
        return reply

    def columnar(self, row: Any, request: md.GetCandles, rows: list[tuple], revision: int) -> md.CandlesReply:
        """Rows as ``repository.read_candles`` returns them for ``request.price``, read at the series'
        ``revision`` (part of the indicator cache key: a bar replaced in place changes no bounds)."""
        columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(7)]
        times, o, h, lo, c, vol, spread = columns[:7]
        if request.price == "mid" and rows:
            two = Decimal(2)
            o, h, lo, c = (
                [(b + a) / two if a is not None else b for b, a in zip(bid, ask, strict=True)]
                for bid, ask in zip((o, h, lo, c), columns[7:], strict=True)
            )
        if None in spread:
            spread = []  # the ask is not known for every bar (uploaded data)
        indicators: dict[str, list[float | None]] = {}
        if request.indicators and rows:
            key_base = (
                row.id,
                request.timeframe.value,
                request.price,
                revision,
                times[0],
                times[-1],
                len(times),
            )
            ohlcv = {"open": o, "high": h, "low": lo, "close": c, "volume": vol}

            def arrays() -> dict[str, np.ndarray]:
                return {k: np.asarray(v, dtype=np.float64) for k, v in ohlcv.items()}

            try:
                indicators = compute_many(request.indicators, arrays, self.cache, key_base)
            except IndicatorError as exc:
                raise PermanentError(str(exc)) from exc
        gaps: list[datetime] = []
        # Bars are distinct and on the grid: as many bars as grid points between the first and the last
        # means none is missing, and the walk over the grid can be skipped.
        complete = bool(rows) and (times[-1] - times[0]) // step(request.timeframe.value) + 1 == len(times)
        if rows and row.venue == VENUE and not complete:
            gaps = find_gaps(
                times, request.timeframe.value, times[0], times[-1], self.hours(row).overlaps, 100
            )
        # Not validated again: every value comes typed from the database (Decimal, UTC datetimes), and
        # validating 6,000 of them would cost as much as reading them.
        return md.CandlesReply.model_construct(
            instrument=request.instrument,
            timeframe=request.timeframe,
            open_time=times,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=vol,
            indicators=indicators,
            spread=spread,
            gaps=gaps,
        )

    async def coverage(self, request: md.GetCoverage) -> md.CoverageReply:
        """Per stored timeframe: range, bar count, bars per source and gaps, aggregated in SQL in one
        pass over the instrument's rows (only one row per timeframe and source comes back). Gaps are the
        open slots between the first and the last bar minus the bars stored on open slots."""
        async with self.reads.connection() as conn:
            row = await self._read_instrument(conn, request.instrument, request.user_id)
            revisions = await repo.series_revisions(conn, row.id)
            cached = self._coverage.get(row.id)
            if cached is not None and cached[0] == revisions:
                # Unchanged since it was counted: the pass over every row (~0.5 s at 1M bars) is skipped.
                return cached[1]
            slots = {tf: self.open_slots(row, tf) for tf in TIMEFRAMES}
            counts = await repo.coverage_counts(conn, row.id, {tf: s.mask for tf, s in slots.items()})
        reply = self._coverage_reply(request, row, slots, counts)
        if len(self._coverage) >= COVERAGE_CACHE_SIZE:
            self._coverage.pop(next(iter(self._coverage)))
        self._coverage[row.id] = (revisions, reply)
        return reply

    def _coverage_reply(
        self, request: md.GetCoverage, row: Any, slots: dict, counts: list
    ) -> md.CoverageReply:
        series: dict[str, dict[str, Any]] = {}
        for tf, source, bars, first, last, open_bars in counts:
            view = series.setdefault(tf, {"bars": 0, "open": 0, "first": first, "last": last, "sources": {}})
            view["bars"] += bars
            view["open"] += open_bars
            view["first"], view["last"] = min(view["first"], first), max(view["last"], last)
            view["sources"][source] = bars
        return md.CoverageReply(
            instrument=request.instrument,
            timeframes=[
                md.CoverageView(
                    timeframe=tf,
                    first=view["first"],
                    last=view["last"],
                    bars=view["bars"],
                    # As for reads: only venue instruments have trading hours to tell a gap from a
                    # closed market.
                    gaps=slots[tf].gaps(view["first"], view["last"], view["open"])
                    if row.venue == VENUE
                    else 0,
                    sources=dict(sorted(view["sources"].items())),
                )
                for tf in TIMEFRAMES
                if (view := series.get(tf)) is not None
            ],
        )

    async def latest_quote(self, request: md.GetLatestQuote, uow: UnitOfWork) -> md.LatestQuoteReply:
        """The last value on the quote stream; without live quotes, the close of the newest stored bar."""
        ref = request.instrument
        try:
            subject = md.QUOTE_UPDATED.subject.render(venue=ref.venue, symbol=ref.symbol)
            msg = await self.runtime.jetstream().get_last_msg("MARKET_DATA_QUOTES", subject)
            quote = md.QuoteUpdated.model_validate_json(msg.data)
            return md.LatestQuoteReply(instrument=ref, bid=quote.bid, ask=quote.ask, ts_event=quote.ts_event)
        except Exception as exc:  # not found, or the stream is unavailable: fall back to stored bars
            log.debug("no live quote", error=type(exc).__name__)
        row = await self._instrument(uow, ref)
        latest = await repo.latest_candle(await repo.pg(uow), row.id)
        if latest is None:
            raise NotFoundError(f"no quote for {ref.venue}:{ref.symbol}")
        open_time, bid, ask, tf = latest
        return md.LatestQuoteReply(
            instrument=ref, bid=bid, ask=ask if ask is not None else bid, ts_event=open_time + step(tf)
        )

    # --- live bars --------------------------------------------------------------------------
    async def close_bars(self, bars: list[ClosedBar], ids: dict[str, int]) -> int:
        """Store closed live bars and announce each bar once (the upsert decides who announces, in the
        same transaction as the outbox row; the message id is derived from the bar)."""
        if not bars:
            return 0
        announced = 0
        written: list[tuple[int, str]] = []
        async with self.uow() as uow:
            conn = await repo.pg(uow)
            for bar in bars:
                instrument_id = ids[bar.epic]
                if not await repo.claim_closed_candle(conn, bar.candle.row(instrument_id, bar.timeframe)):
                    continue
                written.append((instrument_id, bar.timeframe))
                c = bar.candle
                event = md.CandleClosed(
                    message_id=candle_message_id(VENUE, bar.epic, bar.timeframe, c.open_time),
                    instrument=InstrumentRef(venue=VENUE, symbol=bar.epic),
                    timeframe=bar.timeframe,
                    open_time=c.open_time,
                    open=c.bid_open,
                    high=c.bid_high,
                    low=c.bid_low,
                    close=c.bid_close,
                    volume=c.volume,
                    spread=(c.ask_close - c.bid_close) if c.ask_close is not None else None,
                )
                await uow.publish(
                    md.CANDLE_CLOSED, event, venue=VENUE, symbol=bar.epic, timeframe=bar.timeframe
                )
                announced += 1
            await repo.bump_series(conn, written)
        return announced

    # --- uploads ----------------------------------------------------------------------------
    async def upload(self, request: md.UploadCsv, *, commit: bool) -> md.UploadReport:
        parsed = parse_and_validate(request.content, request.timeframe.value)
        report = parsed.report
        if not commit or not report.ok:
            return report
        ref = InstrumentRef(venue=UPLOAD_VENUE, symbol=request.symbol)
        async with self.uow() as uow:
            row = await repo.ensure_instrument(
                uow,
                UPLOAD_VENUE,
                request.symbol,
                name=request.symbol,
                instrument_type="UPLOAD",
                owner=request.user_id,
            )
            if row.owner_user_id != request.user_id:
                raise ConflictError(f"data set name {request.symbol!r} is taken")
            self._instruments.pop((UPLOAD_VENUE, request.symbol), None)
            conn = await repo.pg(uow)
            imported = await repo.copy_candles(
                conn, (c.row(row.id, request.timeframe.value) for c in parsed.candles), update=True
            )
            await uow.execute(
                repo.upload_job_insert(
                    user_id=request.user_id,
                    instrument_id=row.id,
                    timeframe=request.timeframe.value,
                    filename=request.filename,
                    sha256=hashlib.sha256(request.content).hexdigest(),
                    rows=imported,
                    report=report.model_dump(mode="json"),
                )
            )
        return report.model_copy(update={"imported": imported, "instrument": ref})


def utc_now() -> datetime:
    return datetime.now(UTC)


__all__ = ["MarketData", "timedelta"]
