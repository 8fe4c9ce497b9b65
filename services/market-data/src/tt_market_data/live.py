"""The live loop: venue quotes → quote stream, and → candles closed exactly once per bar.

Runs as a background task after startup. With ``live_lease`` one replica holds a Postgres advisory
lock for the instrument set and streams; the others wait. Correctness does not depend on the lease:
the candle upsert decides who announces, and the message id is derived from the bar.

Quotes are published directly to MARKET_DATA_QUOTES (a PubAck comes back) instead of through the
outbox: the stream keeps only the last value per instrument, a quote is superseded within a second,
and writing every tick to Postgres first would cost a transaction per tick for nothing. The message
id is derived from (instrument, time, bid, ask), so two replicas streaming the same tick de-duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import Any

import psycopg
import structlog

import tt_capitalcom as cc
from tt_contracts import market_data as md
from tt_contracts.common import InstrumentRef

from . import repository as repo
from .domain import ClosedBar, TickAggregator, quote_message_id, with_source
from .service import VENUE, MarketData
from .warmup import backfill_recent

log = structlog.get_logger(__name__)


def lease_key(epics: list[str]) -> int:
    digest = hashlib.sha256(("market-data-live|" + ",".join(sorted(epics))).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LiveFeed:
    def __init__(self, service: MarketData) -> None:
        self.service = service
        self.settings = service.settings
        self.aggregator = TickAggregator()
        self.ids: dict[str, int] = {}
        self.announced = 0
        self.quotes_published = 0
        self.quote_failures = 0
        self.holding_lease = False
        self.connected = False
        self._task: asyncio.Task[None] | None = None
        self._warmup: asyncio.Task[int] | None = None
        self._lease_conn: psycopg.AsyncConnection | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run_forever(), name="market-data-live")

    async def stop(self) -> None:
        if self._warmup is not None:
            self._warmup.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._warmup
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._lease_conn is not None:
            with contextlib.suppress(Exception):
                await self._lease_conn.close()
            self._lease_conn = None
            self.holding_lease = False

    async def _run_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._run()
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live loop failed; restarting", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _epics(self) -> list[str]:
        if self.settings.sync_instruments_on_start:
            async with self.service.uow() as uow:
                known = await repo.count_by_type(uow, VENUE)
            if not known:
                await self.service.sync_instruments()
        epics = list(dict.fromkeys(self.settings.live_epics))
        if self.settings.live_include_watchlists:
            async with self.service.uow() as uow:
                epics += [e for e in await repo.watched_symbols(uow, VENUE, 40) if e not in epics]
        epics = epics[: cc.constants.MAX_STREAM_EPICS]
        async with self.service.uow() as uow:
            for epic in epics:
                row = await repo.find_instrument(uow, VENUE, epic)
                if row is None:
                    row = await repo.ensure_instrument(
                        uow, VENUE, epic, name=epic, instrument_type="UNKNOWN", owner=None
                    )
                self.ids[epic] = row.id
        return epics

    async def _acquire_lease(self, epics: list[str]) -> None:
        url = self.settings.database_url.replace("postgresql+psycopg://", "postgresql://")
        key = lease_key(epics)
        while True:
            if self._lease_conn is None or self._lease_conn.closed:
                self._lease_conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
            row = await (await self._lease_conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))).fetchone()
            if row and row[0]:
                self.holding_lease = True
                return
            await asyncio.sleep(self.settings.live_lease_retry_seconds)

    async def _run(self) -> None:
        epics = await self._epics()
        if self.settings.live_lease:
            await self._acquire_lease(epics)
        log.info("live stream starting", epics=len(epics), lease=self.holding_lease)
        if self.settings.warmup_on and self._warmup is None:
            self._warmup = asyncio.create_task(
                backfill_recent(self.service, epics, self.settings.warmup_backfill_days), name="warm-up"
            )
        async with self.service.provider.stream(epics) as stream:
            events = aiter(stream)
            while True:
                try:
                    event = await asyncio.wait_for(anext(events), self.settings.live_flush_seconds)
                except TimeoutError:
                    await self._close(self.aggregator.flush())
                    continue
                await self.handle(event)

    async def handle(self, event: Any) -> None:
        if isinstance(event, cc.Tick):
            if event.bid is None or event.ask is None or event.epic not in self.ids:
                return
            closed = self.aggregator.add(event.epic, event.time, event.bid, event.ask)
            # Bars first: a closed bar is what bots wait for, and the quote's PubAck would delay it.
            await self._close(closed + self.aggregator.flush())
            if self.settings.live_publish_quotes:
                await self._publish_quote(event)
        elif isinstance(event, cc.StreamConnected):
            self.connected = True
            if event.reconnected:
                self.aggregator.restart()  # bars in progress lost ticks: they will be completed from REST
        elif isinstance(event, cc.StreamDisconnected):
            log.warning("live stream disconnected", reason=event.reason)

    async def _publish_quote(self, tick: cc.Tick) -> None:
        quote = md.QuoteUpdated(
            message_id=quote_message_id(VENUE, tick.epic, tick.time, tick.bid, tick.ask),
            producer="market-data",
            instrument=InstrumentRef(venue=VENUE, symbol=tick.epic),
            bid=tick.bid,
            ask=tick.ask,
            ts_event=tick.time,
        )
        subject = md.QUOTE_UPDATED.subject.render(venue=VENUE, symbol=tick.epic)
        try:
            await self.service.runtime.jetstream().publish(
                subject,
                quote.model_dump_json().encode(),
                stream="MARKET_DATA_QUOTES",
                headers={"Nats-Msg-Id": str(quote.message_id)},
                timeout=2.0,
            )
            self.quotes_published += 1
        except Exception as exc:  # the next tick supersedes it; counted and logged, never silent
            self.quote_failures += 1
            log.warning("quote publish failed", epic=tick.epic, error=type(exc).__name__)

    async def _close(self, bars: list[ClosedBar]) -> None:
        if not bars:
            return
        complete: list[ClosedBar] = []
        for bar in bars:
            if bar.partial:
                fixed = await self._complete(bar)
                if fixed is None:
                    log.warning(
                        "partial bar not announced",
                        epic=bar.epic,
                        tf=bar.timeframe,
                        at=str(bar.candle.open_time),
                    )
                    continue
                bar = fixed
            complete.append(bar)
        self.announced += await self.service.close_bars(complete, self.ids)

    async def _complete(self, bar: ClosedBar) -> ClosedBar | None:
        """The stream saw only the end of this bar: take the venue's own bar from REST instead."""
        try:
            candle = await self.service.provider.bar(bar.epic, bar.timeframe, bar.candle.open_time)
        except Exception as exc:
            log.warning("bar completion failed", epic=bar.epic, error=type(exc).__name__)
            return None
        if candle is None:
            return None
        return ClosedBar(bar.epic, bar.timeframe, with_source(candle, "broker"), partial=False)
