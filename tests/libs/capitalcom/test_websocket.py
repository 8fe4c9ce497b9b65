"""Streaming client against a small in-process WebSocket venue speaking the documented protocol."""

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tt_capitalcom import (
    Bar,
    CapitalComConfig,
    CapitalComStream,
    PermanentError,
    Resolution,
    SessionTokens,
    StreamConnected,
    StreamDisconnected,
    Tick,
)
from tt_capitalcom.websocket import StreamStats, _EventBuffer


class FakeStreamVenue:
    def __init__(self):
        self.received: list[tuple[int, dict]] = []
        self.connections: list[ServerConnection] = []
        self.valid_tokens = {("cst-1", "sec-1")}

    async def handle(self, ws: ServerConnection):
        self.connections.append(ws)
        index = len(self.connections)
        async for raw in ws:
            message = json.loads(raw)
            self.received.append((index, message))
            await ws.send(json.dumps(self._answer(message)))

    def _answer(self, message: dict) -> dict:
        head = {"destination": message["destination"], "correlationId": message["correlationId"]}
        if (message["cst"], message["securityToken"]) not in self.valid_tokens:
            return {**head, "status": "ERROR", "payload": {"errorCode": "error.invalid.session.token"}}
        epics = message.get("payload", {}).get("epics", [])
        if "BAD" in epics:
            return {**head, "status": "ERROR", "errorCode": "error.invalid.epic"}
        return {**head, "status": "OK", "payload": {"subscriptions": {epic: "PROCESSED" for epic in epics}}}

    def messages(self, destination: str, connection: int | None = None) -> list[dict]:
        return [m for i, m in self.received if m["destination"] == destination and connection in (None, i)]

    async def push(self, frame: dict):
        await self.connections[-1].send(json.dumps(frame))


class FakeSession:
    def __init__(self, url: str, venue: FakeStreamVenue):
        self.streaming_url = url
        self.venue = venue
        self.generation = 1
        self.listeners = []

    async def session_tokens(self, *, refresh: bool = False) -> SessionTokens:
        if refresh:
            self.renew()
        return SessionTokens(cst=f"cst-{self.generation}", security_token=f"sec-{self.generation}")

    def renew(self):
        self.generation += 1
        self.venue.valid_tokens = {(f"cst-{self.generation}", f"sec-{self.generation}")}
        for listener in self.listeners:
            listener()

    def add_session_listener(self, listener):
        self.listeners.append(listener)

    def remove_session_listener(self, listener):
        self.listeners.remove(listener)


def quote_frame(epic: str, bid: str, ask: str) -> dict:
    return {
        "status": "OK",
        "destination": "quote",
        "payload": {
            "epic": epic,
            "product": "CFD",
            "bid": bid,
            "bidQty": 10,
            "ofr": ask,
            "ofrQty": 10,
            "timestamp": 1660297190627,
        },
    }


def stream_config(**overrides) -> CapitalComConfig:
    settings = {
        "api_key": "k",
        "identifier": "i",
        "password": "p",
        "ws_reconnect_initial": 0.01,
        "ws_reconnect_max": 0.05,
        "ws_ack_timeout": 1.0,
        "ws_transport_ping_interval": None,
    }
    settings.update(overrides)
    return CapitalComConfig(**settings)


@pytest.fixture
async def ws_venue():
    venue = FakeStreamVenue()
    async with serve(venue.handle, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        venue.url = f"ws://127.0.0.1:{port}/connect"
        yield venue


async def next_event(stream, kind, timeout=2.0):
    async with asyncio.timeout(timeout):
        async for event in stream:
            if isinstance(event, kind):
                return event
    raise AssertionError("stream ended")


async def eventually(predicate, timeout=2.0):
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - polling state another task owns
            await asyncio.sleep(0.01)


async def test_subscriptions_made_before_connecting_are_sent_on_connect(ws_venue):
    session = FakeSession(ws_venue.url, ws_venue)
    stream = CapitalComStream(stream_config(), session)
    await stream.subscribe_quotes(["EURUSD", "GOLD"])
    async with stream:
        connected = await next_event(stream, StreamConnected)
        assert connected.reconnected is False
        [subscribe] = ws_venue.messages("marketData.subscribe")
        assert subscribe["payload"] == {"epics": ["EURUSD", "GOLD"]}
        assert (subscribe["cst"], subscribe["securityToken"]) == ("cst-1", "sec-1")
        await ws_venue.push(quote_frame("EURUSD", "1.0841", "1.0843"))
        tick = await next_event(stream, Tick)
        assert tick == Tick(
            epic="EURUSD",
            time=datetime(2022, 8, 12, 9, 39, 50, 627000, tzinfo=UTC),
            bid=Decimal("1.0841"),
            ask=Decimal("1.0843"),
            bid_size=Decimal(10),
            ask_size=Decimal(10),
        )


async def test_bars_subscribe_grouped_and_arrive_typed(ws_venue):
    session = FakeSession(ws_venue.url, ws_venue)
    async with CapitalComStream(stream_config(), session) as stream:
        await next_event(stream, StreamConnected)
        await stream.subscribe_bars(["AAPL", "OIL_CRUDE"], [Resolution.MINUTE_5])
        [subscribe] = ws_venue.messages("OHLCMarketData.subscribe")
        assert subscribe["payload"] == {
            "epics": ["AAPL", "OIL_CRUDE"],
            "resolutions": ["MINUTE_5"],
            "type": "classic",
        }
        await ws_venue.push(
            {
                "status": "OK",
                "destination": "ohlc.event",
                "payload": {
                    "resolution": "MINUTE_5",
                    "epic": "AAPL",
                    "type": "classic",
                    "priceType": "bid",
                    "t": 1671714000000,
                    "h": 134.95,
                    "l": 134.85,
                    "o": 134.86,
                    "c": 134.88,
                },
            }
        )
        bar = await next_event(stream, Bar)
        assert (bar.epic, bar.resolution, bar.close) == ("AAPL", Resolution.MINUTE_5, Decimal("134.88"))
        await stream.unsubscribe_bars(["AAPL"], [Resolution.MINUTE_5])
        [unsubscribe] = ws_venue.messages("OHLCMarketData.unsubscribe")
        assert unsubscribe["payload"] == {
            "epics": ["AAPL"],
            "resolutions": ["MINUTE_5"],
            "types": ["classic"],
        }
        assert [(s.epic, s.resolution) for s in stream.bar_subscriptions] == [
            ("OIL_CRUDE", Resolution.MINUTE_5)
        ]


async def test_reconnects_after_a_dropped_socket_and_resubscribes(ws_venue):
    session = FakeSession(ws_venue.url, ws_venue)
    async with CapitalComStream(stream_config(), session) as stream:
        await stream.subscribe_quotes(["BTCUSD"])
        await stream.subscribe_bars(["BTCUSD"], [Resolution.MINUTE])
        await next_event(stream, StreamConnected)
        await ws_venue.connections[-1].close()
        assert isinstance(await next_event(stream, StreamDisconnected), StreamDisconnected)
        assert (await next_event(stream, StreamConnected)).reconnected is True
        assert ws_venue.messages("marketData.subscribe", connection=2)[0]["payload"]["epics"] == ["BTCUSD"]
        assert ws_venue.messages("OHLCMarketData.subscribe", connection=2)[0]["payload"]["epics"] == [
            "BTCUSD"
        ]
        await ws_venue.push(quote_frame("BTCUSD", "60000.5", "60010.5"))
        assert (await next_event(stream, Tick)).ask == Decimal("60010.5")
        assert stream.stats.reconnects == 1


async def test_session_renewal_forces_a_reconnect_with_the_new_tokens(ws_venue):
    session = FakeSession(ws_venue.url, ws_venue)
    async with CapitalComStream(stream_config(), session) as stream:
        await stream.subscribe_quotes(["US500"])
        await next_event(stream, StreamConnected)
        session.renew()  # e.g. the REST side logged in again
        await next_event(stream, StreamConnected)
        replayed = ws_venue.messages("marketData.subscribe", connection=2)[0]
        assert replayed["cst"] == "cst-2"


async def test_invalid_session_on_subscribe_refreshes_tokens_and_recovers(ws_venue):
    session = FakeSession(ws_venue.url, ws_venue)
    async with CapitalComStream(stream_config(), session) as stream:
        await next_event(stream, StreamConnected)
        ws_venue.valid_tokens = set()  # the venue invalidated the session (another login)
        await stream.subscribe_quotes(["GOLD"])
        await next_event(stream, StreamConnected)
        assert session.generation == 2
        assert ws_venue.messages("marketData.subscribe")[-1]["cst"] == "cst-2"
        assert stream.quote_epics == ["GOLD"]


async def test_venue_rejection_raises_and_forgets_the_subscription(ws_venue):
    session = FakeSession(ws_venue.url, ws_venue)
    async with CapitalComStream(stream_config(), session) as stream:
        await next_event(stream, StreamConnected)
        with pytest.raises(PermanentError) as caught:
            await stream.subscribe_quotes(["BAD"])
        assert caught.value.error_code == "error.invalid.epic"
        assert stream.quote_epics == []


async def test_application_ping_is_sent_on_schedule_with_tokens(ws_venue):
    session = FakeSession(ws_venue.url, ws_venue)
    async with CapitalComStream(stream_config(ws_ping_interval=0.05), session) as stream:
        await next_event(stream, StreamConnected)
        await eventually(lambda: len(ws_venue.messages("ping")) >= 2)
        assert ws_venue.messages("ping")[0]["cst"] == "cst-1"


async def test_malformed_frames_are_ignored(ws_venue):
    session = FakeSession(ws_venue.url, ws_venue)
    async with CapitalComStream(stream_config(), session) as stream:
        await stream.subscribe_quotes(["GOLD"])
        await next_event(stream, StreamConnected)
        await ws_venue.connections[-1].send("not json")
        await ws_venue.push({"status": "OK", "destination": "quote", "payload": {"bid": 1}})
        await ws_venue.push(quote_frame("GOLD", "2400.1", "2400.5"))
        assert (await next_event(stream, Tick)).epic == "GOLD"


async def test_more_than_forty_epics_are_refused_locally():
    session = FakeSession("ws://127.0.0.1:9/connect", FakeStreamVenue())
    stream = CapitalComStream(stream_config(), session)
    await stream.subscribe_quotes([f"E{i}" for i in range(40)])
    with pytest.raises(ValueError):
        await stream.subscribe_quotes(["ONE_MORE"])
    with pytest.raises(ValueError):
        await stream.subscribe_bars([f"B{i}" for i in range(41)], [Resolution.MINUTE])


def _tick(epic: str, bid: str) -> Tick:
    return Tick(epic=epic, time=datetime(2024, 1, 1, tzinfo=UTC), bid=Decimal(bid), ask=Decimal(bid))


def _bar(close: str) -> Bar:
    value = Decimal(close)
    return Bar(
        epic="X",
        resolution=Resolution.MINUTE,
        side="bid",
        open_time=datetime(2024, 1, 1, tzinfo=UTC),
        open=value,
        high=value,
        low=value,
        close=value,
    )


async def test_slow_consumer_gets_the_latest_quote_per_epic_and_every_bar():
    stats = StreamStats()
    buffer = _EventBuffer(max_pending_events=10, stats=stats)
    await buffer.put_tick(_tick("A", "1"))
    await buffer.put(_bar("100"))
    await buffer.put_tick(_tick("B", "5"))
    await buffer.put_tick(_tick("A", "2"))
    await buffer.put_tick(_tick("A", "3"))
    await buffer.put(_bar("101"))
    events = [await buffer.get() for _ in range(4)]
    assert [(type(e).__name__, getattr(e, "bid", None) or e.close) for e in events] == [
        ("Tick", Decimal("3")),
        ("Bar", Decimal("100")),
        ("Tick", Decimal("5")),
        ("Bar", Decimal("101")),
    ]
    assert stats.conflated_quotes == 2
    # Once consumed, the next quote for A is queued anew rather than conflated.
    await buffer.put_tick(_tick("A", "4"))
    assert (await buffer.get()).bid == Decimal("4")


async def test_bars_beyond_the_bound_wait_for_the_consumer():
    buffer = _EventBuffer(max_pending_events=2, stats=StreamStats())
    await buffer.put(_bar("1"))
    await buffer.put(_bar("2"))
    blocked = asyncio.create_task(buffer.put(_bar("3")))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    assert (await buffer.get()).close == Decimal("1")
    await asyncio.wait_for(blocked, 1)
    await buffer.close()
    assert [(await buffer.get()).close for _ in range(2)] == [Decimal("2"), Decimal("3")]
    with pytest.raises(StopAsyncIteration):
        await buffer.get()
