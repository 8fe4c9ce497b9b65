"""Use cases of chart-render: render a chart (or find it already rendered) and fetch a stored chart.

chart-render is stateless (DESIGN §5): the object store is both the result store and the cache, keyed
by the content hash of the canonical input (spec + candle arrays + renderer version). A redelivered
command therefore finds its own object and announces the same key; the announcement's message id is
derived from the command's, so JetStream's duplicate window absorbs a re-announcement too.
"""

from __future__ import annotations

import base64
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

import numpy as np
import structlog

from tt_contracts import Event, Route, registry
from tt_contracts.chart_render import ChartFailed, ChartRendered, ChartReply, GetChart, RenderChart
from tt_contracts.market_data import CandlesReply, GetCandles
from tt_runtime.client import RemoteError
from tt_runtime.errors import NotFoundError, PermanentError, TransientError

from .adapters.owners import RenderOwners
from .adapters.storage import ObjectStore
from .domain import (
    ChartSpec,
    InvalidChart,
    Mark,
    check_enough_candles,
    content_hash,
    fetch_limit,
    normalise_indicators,
    object_key,
    request_fingerprint,
    window_is_closed,
)
from .pool import RenderPool

log = structlog.get_logger(__name__)

Ask = Callable[[Route, GetCandles], Awaitable[CandlesReply]]
Publish = Callable[[Route, Event], Awaitable[None]]
MAX_REPLY_BYTES = 700_000  # base64 of this stays under NATS' default 1 MB payload
MEMO_SECONDS = 300.0


def derived_id(source: UUID, what: str) -> UUID:
    """A stable message id for the event caused by ``source``: redelivery re-announces, never doubles."""
    return uuid5(NAMESPACE_URL, f"chart-render/{source}/{what}")


def candle_columns(reply: CandlesReply) -> dict[str, np.ndarray]:
    n = len(reply.open_time)
    lengths = {len(getattr(reply, k)) for k in ("open", "high", "low", "close", "volume")}
    if lengths != {n}:
        raise InvalidChart("market-data reply columns are not aligned")
    return {
        "open_time": np.array([int(t.astimezone(UTC).timestamp()) for t in reply.open_time], dtype=np.int64),
        **{
            k: np.array([float(x) for x in getattr(reply, k)], dtype=np.float64)
            for k in ("open", "high", "low", "close", "volume")
        },
    }


def build_spec(command: RenderChart, reply: CandlesReply) -> ChartSpec:
    indicators = normalise_indicators([(i.name, dict(i.params)) for i in command.indicators])
    columns = candle_columns(reply)
    order = np.argsort(columns["open_time"], kind="stable")
    columns = {k: v[order] for k, v in columns.items()}
    visible = check_enough_candles(len(order), command.bars, indicators)
    marks = tuple(
        Mark(
            a.kind,
            float(a.price) if a.price is not None else None,
            a.at.timestamp() if a.at is not None else None,
            a.text,
        )
        for a in command.annotations
    )
    return ChartSpec(
        symbol=command.instrument.symbol,
        timeframe=str(command.timeframe.value),
        indicators=indicators,
        marks=marks,
        width=command.width,
        height=command.height,
        theme=command.theme,
        visible=visible,
        columns=columns,
    )


class ChartService:
    def __init__(
        self,
        *,
        ask: Ask,
        publish: Publish,
        store: ObjectStore,
        pool: RenderPool,
        owners: RenderOwners,
        known_keys: int = 4096,
    ):
        self.ask = ask
        self.publish = publish
        self.store = store
        self.pool = pool
        self.owners = owners
        self._known: OrderedDict[str, int] = OrderedDict()  # object key -> size in bytes
        self._known_max = known_keys
        self.renders = 0  # charts actually drawn (not served from the store)
        # Commands over closed windows (their candles never change) → (expiry, key, digest, size):
        # a repeat skips even the market-data request. Bounded in size and age, so a backfill of
        # history shows up within MEMO_SECONDS.
        self._memo: OrderedDict[str, tuple[float, str, str, int]] = OrderedDict()

    async def handle(self, command: RenderChart) -> ChartRendered | ChartFailed:
        """The command handler's use case: announce ``rendered`` or ``failed``, never crash.

        Invalid requests (unknown indicator, bad parameter, too few candles, unknown instrument,
        expired) are answered with ``chart.failed`` and acknowledged: the failure is recorded where the
        requester waits for it. Transient failures (market-data or storage down) raise and are retried
        by the consumer policy, and dead-lettered after the last delivery.
        """
        try:
            event: ChartRendered | ChartFailed = await self.render(command)
        except InvalidChart as exc:
            event = self._failed(command, str(exc))
        if isinstance(event, ChartRendered) and command.user_id is not None:
            await self.owners.record(event.object_key, command.user_id)  # before the user can hear of it
        await self.publish(
            registry.CHART_RENDERED if isinstance(event, ChartRendered) else registry.CHART_FAILED, event
        )
        return event

    def _failed(self, command: RenderChart, reason: str) -> ChartFailed:
        log.info("chart refused", request_id=str(command.request_id), reason=reason)
        return ChartFailed(
            **command.caused(message_id=derived_id(command.message_id, "failed")),
            producer="chart-render",
            request_id=command.request_id,
            user_id=command.user_id,
            reason=reason[:500],
        )

    async def render(self, command: RenderChart) -> ChartRendered:
        if command.expired():
            raise InvalidChart("the command expired before it was handled")
        indicators = normalise_indicators([(i.name, dict(i.params)) for i in command.indicators])
        fingerprint = self._fingerprint(command)
        memo = self._memo.get(fingerprint) if fingerprint else None
        if memo is not None and memo[0] > time.monotonic():
            return self._rendered(command, memo[1], memo[2], memo[3])
        request = GetCandles(
            **command.caused(),
            producer="chart-render",
            instrument=command.instrument,
            timeframe=command.timeframe,
            end=command.end,
            limit=fetch_limit(command.bars, indicators),
            user_id=command.user_id,
        )
        try:
            reply = await self.ask(registry.CANDLES_GET, request)
        except RemoteError as exc:
            if exc.code in ("not_found", "invalid", "forbidden"):
                raise InvalidChart(f"market-data: {exc.detail.message}") from exc
            raise TransientError(str(exc)) from exc
        spec = build_spec(command, reply)
        digest = content_hash(spec)
        key = object_key(digest)
        size = await self._stored_size(key)
        if size is None:
            png = await self.pool.render(spec)
            await self.store.put(key, png, "image/png")
            size = len(png)
            self.renders += 1
        self._remember(key, size)
        if fingerprint:
            self._memo[fingerprint] = (time.monotonic() + MEMO_SECONDS, key, digest, size)
            while len(self._memo) > self._known_max:
                self._memo.popitem(last=False)
        return self._rendered(command, key, digest, size)

    @staticmethod
    def _fingerprint(command: RenderChart) -> str | None:
        now = datetime.now(UTC).timestamp()
        if not window_is_closed(command.end.timestamp(), command.timeframe.value, now):
            return None  # the last bar may still change: always ask market-data
        return request_fingerprint(
            command.model_dump(
                mode="json",
                include={
                    "instrument",
                    "timeframe",
                    "end",
                    "bars",
                    "indicators",
                    "annotations",
                    "width",
                    "height",
                    "theme",
                },
            )
        )

    def _rendered(self, command: RenderChart, key: str, digest: str, size: int) -> ChartRendered:
        return ChartRendered(
            **command.caused(message_id=derived_id(command.message_id, "rendered")),
            producer="chart-render",
            request_id=command.request_id,
            user_id=command.user_id,
            object_key=key,
            content_hash=digest,
            size_bytes=size,
            width=command.width,
            height=command.height,
        )

    async def _stored_size(self, key: str) -> int | None:
        size = self._known.get(key)
        if size is not None:
            self._known.move_to_end(key)
            return size
        return await self.store.size(key)

    def _remember(self, key: str, size: int) -> None:
        self._known[key] = size
        self._known.move_to_end(key)
        while len(self._known) > self._known_max:
            self._known.popitem(last=False)

    async def get(self, request: GetChart) -> ChartReply:
        """The stored chart. A user gets only charts rendered at their request; anything else answers
        exactly as a missing key does, so keys cannot be probed. Internal callers pass no user."""
        missing = NotFoundError(f"no chart {request.object_key}")
        if request.user_id is not None and not await self.owners.requested(
            request.object_key, request.user_id
        ):
            raise missing
        data = await self.store.get(request.object_key)
        if data is None:
            raise missing
        if len(data) > MAX_REPLY_BYTES:
            raise PermanentError(f"chart {request.object_key} is too large to send over the bus")
        return ChartReply(
            object_key=request.object_key,
            size_bytes=len(data),
            data_base64=base64.b64encode(data).decode("ascii"),
        )
