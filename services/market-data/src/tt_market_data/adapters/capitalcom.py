"""Capital.com as a market-data provider: catalogue, price history and the quote stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

import tt_capitalcom as cc
from tt_runtime.errors import NotFoundError, PermanentError, TransientError

from ..domain import Candle
from ..settings import Settings

log = structlog.get_logger(__name__)

RESOLUTIONS: dict[str, cc.Resolution] = {
    "1m": cc.Resolution.MINUTE,
    "5m": cc.Resolution.MINUTE_5,
    "15m": cc.Resolution.MINUTE_15,
    "30m": cc.Resolution.MINUTE_30,
    "1h": cc.Resolution.HOUR,
    "4h": cc.Resolution.HOUR_4,
    "1d": cc.Resolution.DAY,
    "1w": cc.Resolution.WEEK,
}
MAX_NAVIGATION_NODES = 500


@dataclass(frozen=True)
class InstrumentRecord:
    symbol: str
    name: str
    instrument_type: str
    currency: str
    status: str | None
    dealing_rules: dict[str, Any] | None
    trading_hours: dict[str, Any] | None


def config_from(settings: Settings) -> cc.CapitalComConfig:
    return cc.CapitalComConfig(
        api_key=settings.capitalcom_api_key,
        identifier=settings.capitalcom_identifier,
        password=settings.capitalcom_password,
        environment=settings.capitalcom_environment,
        rest_url=settings.capitalcom_base_url,
        ws_url=settings.capitalcom_ws_url,
        request_limit=cc.RateLimit(rate=settings.capitalcom_request_rate, burst=2),
    )


def map_error(exc: Exception) -> Exception:
    """A venue error as the platform's taxonomy (the caller raises the result ``from exc``)."""
    if isinstance(exc, cc.RateLimitedError | cc.TransientError):
        return TransientError(f"capital.com: {exc}", retry_after=getattr(exc, "retry_after", None))
    if isinstance(exc, cc.NotFoundError):
        return NotFoundError(f"capital.com: {exc}")
    if isinstance(exc, cc.AuthenticationError | cc.PermanentError):
        return PermanentError(f"capital.com: {exc}")
    if isinstance(exc, OSError | asyncio.TimeoutError):
        return TransientError(f"capital.com unreachable: {type(exc).__name__}")
    return exc


def _rule(value: Any) -> str | None:
    return None if value is None or value.value is None else format(value.value, "f")


def record_from(details: cc.schemas.MarketDetails) -> InstrumentRecord:
    inst, rules, snap = details.instrument, details.dealing_rules, details.snapshot
    hours = None
    if inst.opening_hours is not None:
        hours = inst.opening_hours.model_dump(exclude_none=True)
    return InstrumentRecord(
        symbol=inst.epic,
        name=inst.name or inst.epic,
        instrument_type=inst.type or "UNKNOWN",
        currency=inst.currency or "",
        status=snap.market_status if snap else None,
        dealing_rules=None
        if rules is None
        else {
            "min_deal_size": _rule(rules.min_deal_size),
            "max_deal_size": _rule(rules.max_deal_size),
            "min_size_increment": _rule(rules.min_size_increment),
            "min_step_distance": _rule(rules.min_step_distance),
            "min_stop_distance": _rule(rules.min_stop_or_profit_distance),
        },
        trading_hours=hours,
    )


def candle_from(bar: cc.schemas.HistoricalBar) -> Candle | None:
    o, h, lo, c = bar.open_price, bar.high_price, bar.low_price, bar.close_price
    if None in (o.bid, h.bid, lo.bid, c.bid):
        return None
    return Candle(
        open_time=bar.snapshot_time_utc,
        bid_open=o.bid,
        bid_high=h.bid,
        bid_low=lo.bid,
        bid_close=c.bid,
        ask_open=o.ask,
        ask_high=h.ask,
        ask_low=lo.ask,
        ask_close=c.ask,
        volume=Decimal(bar.last_traded_volume or 0),
        source="broker",
    )


class CapitalComProvider:
    """The ``broker`` provenance: Capital.com REST through the shared client (paced, retried)."""

    source = "broker"
    venue = "capitalcom"

    def __init__(self, settings: Settings, client: cc.CapitalComClient | None = None) -> None:
        self.settings = settings
        self.config = config_from(settings)
        self._client = client

    @property
    def client(self) -> cc.CapitalComClient:
        if self._client is None:
            self._client = cc.CapitalComClient(self.config)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def catalogue(self) -> list[InstrumentRecord]:
        """Every market reachable from the navigation tree, with full details (≤ 50 epics a call)."""
        try:
            epics: dict[str, None] = {}
            queue: list[str | None] = [None]
            seen = 0
            while queue and seen < MAX_NAVIGATION_NODES:
                node = queue.pop(0)
                seen += 1
                nav = await self.client.get_market_navigation(node)
                queue.extend(n.id for n in nav.nodes)
                epics.update((m.epic, None) for m in nav.markets)
            if not epics:  # a venue without navigation data: the flat list
                epics.update((m.epic, None) for m in await self.client.list_markets())
            return [record_from(d) for d in await self.client.get_markets(list(epics))]
        except cc.CapitalComError as exc:
            raise map_error(exc) from exc

    async def history(
        self, symbol: str, timeframe: str, start: datetime, end: datetime | None = None
    ) -> AsyncIterator[list[Candle]]:
        """Pages of bars (oldest first); the client walks the venue's window limit page by page."""
        try:
            async for page in self.client.iter_price_pages(symbol, RESOLUTIONS[timeframe], start, end):
                yield [c for c in map(candle_from, page) if c is not None]
        except cc.CapitalComError as exc:
            raise map_error(exc) from exc

    async def bar(self, symbol: str, timeframe: str, open_time: datetime) -> Candle | None:
        """One closed bar from REST (to complete a bar the stream saw only partly)."""
        try:
            response = await self.client.get_prices(
                symbol, RESOLUTIONS[timeframe], max_bars=1, start=open_time, end=open_time
            )
        except cc.NotFoundError:
            return None
        except cc.CapitalComError as exc:
            raise map_error(exc) from exc
        for raw in response.prices:
            if raw.snapshot_time_utc == open_time:
                return candle_from(raw)
        return None

    async def server_time(self) -> datetime:
        try:
            return await self.client.server_time()
        except cc.CapitalComError as exc:
            raise map_error(exc) from exc

    @asynccontextmanager
    async def stream(self, epics: list[str]) -> AsyncIterator[cc.CapitalComStream]:
        async with cc.CapitalComStream(self.config, self.client) as stream:
            await stream.subscribe_quotes(epics[: cc.constants.MAX_STREAM_EPICS])
            yield stream
