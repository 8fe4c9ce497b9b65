"""What the gateway follows on the bus: broadcast subscriptions feeding the live hub (every replica
sees every event and hands it to the browsers connected to it)."""

from __future__ import annotations

from tt_contracts import registry
from tt_contracts.chart_render import ChartFailed, ChartRendered
from tt_contracts.market_data import CandleClosed, QuoteUpdated
from tt_runtime.bus import Handlers

from .live import LiveHub, candle_topic, chart_topic, quote_topic, user_topic

USER_EVENTS = (
    registry.ACCOUNT_CONNECTED,
    registry.ACCOUNT_DISCONNECTED,
    registry.BALANCE_CHANGED,
    registry.ORDER_ACCEPTED,
    registry.ORDER_REJECTED,
    registry.ORDER_FILLED,
    registry.ORDER_CANCELLED,
    registry.POSITION_OPENED,
    registry.POSITION_CHANGED,
    registry.POSITION_CLOSED,
)


def build_handlers(hub: LiveHub) -> Handlers:
    handlers = Handlers("gateway")

    async def to_user(event) -> None:
        hub.publish(user_topic(event.user_id), event)

    for route in USER_EVENTS:
        handlers.broadcast(route)(to_user)

    @handlers.broadcast(registry.QUOTE_UPDATED)
    async def quote(event: QuoteUpdated) -> None:
        hub.publish(quote_topic(event.instrument.venue, event.instrument.symbol), event)

    @handlers.broadcast(registry.CANDLE_CLOSED)
    async def candle(event: CandleClosed) -> None:
        ref = event.instrument
        hub.publish(candle_topic(ref.venue, ref.symbol, event.timeframe), event)

    @handlers.broadcast(registry.CHART_RENDERED)
    async def chart_rendered(event: ChartRendered) -> None:
        hub.publish(chart_topic(event.request_id), event)

    @handlers.broadcast(registry.CHART_FAILED)
    async def chart_failed(event: ChartFailed) -> None:
        hub.publish(chart_topic(event.request_id), event)

    return handlers
