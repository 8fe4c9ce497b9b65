"""Streaming client for the venue's WebSocket: quotes and closed OHLC bars.

Subscriptions are kept as a desired set and replayed, with fresh tokens, after every (re)connect;
the venue binds tokens into subscriptions and silently stops OHLC after a REST re-login, so a
token change (re-login, account switch) also forces a reconnect.

Backpressure policy: a slow consumer never makes the socket reader fall behind on quotes. Quotes
are conflated per epic: while an epic's quote is still waiting to be consumed, a newer one
replaces it in place (so the consumer always gets the latest price, and stale ones are counted in
`stats.conflated_quotes`). Bars and connection events are never dropped; if more than
`ws_max_pending_events` of them are waiting, the reader pauses, which pushes back on the socket.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self

import pydantic
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from .auth import SessionTokens
from .config import CapitalComConfig
from .constants import MAX_STREAM_EPICS, BarType, Resolution
from .errors import (
    AuthenticationError,
    CapitalComError,
    PermanentError,
    SessionExpiredError,
    TransientError,
    classify_venue_error,
)
from .parse import Bar, Tick, bar_from_ohlc, decode_json, tick_from_quote
from .schemas import OhlcPayload, QuotePayload, StreamFrame

logger = logging.getLogger(__name__)

_SESSION_ERROR_CODES = frozenset({"error.invalid.session.token", "error.null.client.token"})


class StreamSession(Protocol):
    """What the stream needs from the REST side; `CapitalComClient` provides it."""

    @property
    def streaming_url(self) -> str: ...

    async def session_tokens(self, *, refresh: bool = False) -> SessionTokens: ...

    def add_session_listener(self, listener: Any) -> None: ...

    def remove_session_listener(self, listener: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class StreamConnected:
    """Subscriptions are live. After a reconnect (`reconnected`) data may be missing: backfill via REST."""

    reconnected: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class StreamDisconnected:
    reason: str
    at: datetime


StreamEvent = Tick | Bar | StreamConnected | StreamDisconnected


@dataclass(slots=True)
class StreamStats:
    quotes: int = 0
    conflated_quotes: int = 0
    bars: int = 0
    reconnects: int = 0


@dataclass(frozen=True, slots=True)
class BarSubscription:
    epic: str
    resolution: Resolution
    bar_type: BarType = BarType.CLASSIC


class _EventBuffer:
    """Ordered events; a pending quote for an epic is overwritten by the next one (see module doc)."""

    def __init__(self, max_pending_events: int, stats: StreamStats):
        self._entries: deque[list[StreamEvent]] = deque()
        self._pending_quotes: dict[str, list[StreamEvent]] = {}
        self._other_count = 0
        self._max_pending = max_pending_events
        self._stats = stats
        self._changed = asyncio.Condition()
        self._closed = False
        self._failure: BaseException | None = None

    async def put_tick(self, tick: Tick) -> None:
        async with self._changed:
            slot = self._pending_quotes.get(tick.epic)
            if slot is not None:
                slot[0] = tick
                self._stats.conflated_quotes += 1
            else:
                slot = [tick]
                self._pending_quotes[tick.epic] = slot
                self._entries.append(slot)
            self._changed.notify_all()

    async def put(self, event: StreamEvent) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._other_count < self._max_pending or self._closed)
            self._entries.append([event])
            self._other_count += 1
            self._changed.notify_all()

    async def get(self) -> StreamEvent:
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._entries) or self._closed)
            if not self._entries:
                if self._failure is not None:
                    raise self._failure
                raise StopAsyncIteration
            slot = self._entries.popleft()
            event = slot[0]
            if isinstance(event, Tick) and self._pending_quotes.get(event.epic) is slot:
                del self._pending_quotes[event.epic]
            else:
                self._other_count -= 1
            self._changed.notify_all()
            return event

    async def close(self, failure: BaseException | None = None) -> None:
        async with self._changed:
            self._closed = True
            self._failure = failure
            self._changed.notify_all()


class CapitalComStream:
    """Use as `async with CapitalComStream(config, client) as stream:` then `async for event in stream`.

    Events are `Tick`, `Bar`, `StreamConnected` and `StreamDisconnected`. The iterator ends when the
    stream is closed, and raises `AuthenticationError` if the credentials stop working.
    """

    def __init__(self, config: CapitalComConfig, session: StreamSession):
        self._config = config
        self._session = session
        self.stats = StreamStats()
        self._buffer = _EventBuffer(config.ws_max_pending_events, self.stats)
        self._quote_epics: dict[str, None] = {}
        self._bar_subscriptions: dict[BarSubscription, None] = {}
        self._ws: ClientConnection | None = None
        self._tokens: SessionTokens | None = None
        self._pending_acks: dict[str, asyncio.Future[StreamFrame]] = {}
        self._correlation = itertools.count(1)
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self._has_connected = False
        self._failed_attempts = 0
        self._background: set[asyncio.Task[None]] = set()

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def start(self) -> None:
        if self._runner is None:
            self._session.add_session_listener(self._on_session_renewed)
            self._runner = asyncio.create_task(self._run(), name="capitalcom-stream")

    async def aclose(self) -> None:
        self._closing = True
        if self._runner is not None:
            self._session.remove_session_listener(self._on_session_renewed)
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        await self._buffer.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StreamEvent:
        return await self._buffer.get()

    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def quote_epics(self) -> list[str]:
        return list(self._quote_epics)

    @property
    def bar_subscriptions(self) -> list[BarSubscription]:
        return list(self._bar_subscriptions)

    # --- subscriptions -----------------------------------------------------------------------
    # Each call updates the desired set first; if connected it then waits for the venue's ack.
    # Venue rejections raise `PermanentError` and are removed again; connection trouble is left
    # to the reconnect loop, which replays the whole desired set.

    async def subscribe_quotes(self, epics: Iterable[str]) -> None:
        new = [epic for epic in dict.fromkeys(epics) if epic not in self._quote_epics]
        if len(self._quote_epics) + len(new) > MAX_STREAM_EPICS:
            raise ValueError(f"the venue streams at most {MAX_STREAM_EPICS} epics per connection")
        if not new:
            return
        self._quote_epics.update(dict.fromkeys(new))
        try:
            await self._request_if_connected("marketData.subscribe", {"epics": new})
        except PermanentError:
            for epic in new:
                self._quote_epics.pop(epic, None)
            raise

    async def unsubscribe_quotes(self, epics: Iterable[str]) -> None:
        gone = [epic for epic in dict.fromkeys(epics) if epic in self._quote_epics]
        for epic in gone:
            del self._quote_epics[epic]
        if gone:
            await self._request_if_connected("marketData.unsubscribe", {"epics": gone})

    async def subscribe_bars(
        self, epics: Iterable[str], resolutions: Iterable[Resolution], bar_type: BarType = BarType.CLASSIC
    ) -> None:
        wanted = [
            BarSubscription(epic, Resolution(resolution), BarType(bar_type))
            for epic in dict.fromkeys(epics)
            for resolution in dict.fromkeys(resolutions)
        ]
        new = [sub for sub in wanted if sub not in self._bar_subscriptions]
        bar_epics = {sub.epic for sub in [*self._bar_subscriptions, *new]}
        if len(bar_epics) > MAX_STREAM_EPICS:
            raise ValueError(f"the venue streams at most {MAX_STREAM_EPICS} epics per connection")
        if not new:
            return
        self._bar_subscriptions.update(dict.fromkeys(new))
        try:
            for payload in _bar_payloads(new):
                await self._request_if_connected("OHLCMarketData.subscribe", payload)
        except PermanentError:
            for sub in new:
                self._bar_subscriptions.pop(sub, None)
            raise

    async def unsubscribe_bars(
        self, epics: Iterable[str], resolutions: Iterable[Resolution], bar_type: BarType = BarType.CLASSIC
    ) -> None:
        gone = [
            sub
            for epic in dict.fromkeys(epics)
            for resolution in dict.fromkeys(resolutions)
            if (sub := BarSubscription(epic, Resolution(resolution), BarType(bar_type)))
            in self._bar_subscriptions
        ]
        for sub in gone:
            del self._bar_subscriptions[sub]
        for payload in _bar_payloads(gone):
            payload["types"] = [payload.pop("type")]
            await self._request_if_connected("OHLCMarketData.unsubscribe", payload)

    # --- connection loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._closing:
            reason = "connection closed"
            try:
                tokens = await self._session.session_tokens()
                async with connect(
                    self._session.streaming_url,
                    open_timeout=self._config.ws_open_timeout,
                    ping_interval=self._config.ws_transport_ping_interval,
                    ping_timeout=self._config.ws_transport_ping_interval,
                ) as ws:
                    await self._serve_connection(ws, tokens)
            except AuthenticationError as exc:
                logger.error("capital.com stream stopped: credentials refused (%s)", exc)
                await self._buffer.close(exc)
                return
            except SessionExpiredError as exc:
                reason = f"session expired ({exc.error_code})"
                await self._refresh_tokens()
            except (ConnectionClosed, WebSocketException, OSError, TimeoutError, CapitalComError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                self._drop_connection()
            if self._closing:
                return
            logger.warning("capital.com stream disconnected: %s", reason)
            if self._has_connected:
                await self._buffer.put(StreamDisconnected(reason=reason, at=datetime.now(UTC)))
            await asyncio.sleep(self._reconnect_delay(self._failed_attempts))
            self._failed_attempts += 1

    async def _serve_connection(self, ws: ClientConnection, tokens: SessionTokens) -> None:
        self._tokens = tokens
        reader = asyncio.create_task(self._read(ws), name="capitalcom-stream-reader")
        try:
            self._ws = ws
            await self._replay_subscriptions()
            reconnected = self._has_connected
            if reconnected:
                self.stats.reconnects += 1
            self._has_connected = True
            self._failed_attempts = 0
            await self._buffer.put(StreamConnected(reconnected=reconnected, at=datetime.now(UTC)))
            pinger = asyncio.create_task(self._ping(), name="capitalcom-stream-ping")
            try:
                await reader
            finally:
                pinger.cancel()
                await asyncio.gather(pinger, return_exceptions=True)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    def _drop_connection(self) -> None:
        self._ws = None
        self._fail_pending_acks()

    def _fail_pending_acks(self) -> None:
        for future in self._pending_acks.values():
            if not future.done():
                future.set_exception(TransientError("stream connection closed before the venue answered"))
        self._pending_acks.clear()

    def _reconnect_delay(self, attempt: int) -> float:
        base = min(self._config.ws_reconnect_max, self._config.ws_reconnect_initial * 2**attempt)
        return base * random.uniform(0.5, 1.0)

    async def _replay_subscriptions(self) -> None:
        # A venue rejection here (e.g. an epic that was delisted) drops that subscription instead
        # of failing the connection, which would otherwise reconnect forever.
        if self._quote_epics:
            epics = list(self._quote_epics)
            try:
                await self._request("marketData.subscribe", {"epics": epics})
            except PermanentError as exc:
                logger.error("capital.com stream dropped quote subscriptions %s: %s", epics, exc)
                self._quote_epics.clear()
        for payload in _bar_payloads(self._bar_subscriptions):
            try:
                await self._request("OHLCMarketData.subscribe", payload)
            except PermanentError as exc:
                logger.error("capital.com stream dropped bar subscriptions %s: %s", payload, exc)
                for sub in list(self._bar_subscriptions):
                    if sub.epic in payload["epics"] and sub.resolution.value in payload["resolutions"]:
                        del self._bar_subscriptions[sub]

    async def _ping(self) -> None:
        # The venue drops a socket after 10 minutes without an application-level ping.
        while True:
            await asyncio.sleep(self._config.ws_ping_interval)
            try:
                await self._request("ping", {})
            except TransientError:
                # No answer: treat the socket as dead and let the loop reconnect.
                await self._close_socket()
                return

    def _on_session_renewed(self) -> None:
        # New tokens (re-login or account switch): the venue's subscriptions on the old tokens are dead.
        if self._ws is not None:
            task = asyncio.get_running_loop().create_task(self._close_socket())
            # Held until done: the loop keeps only weak references to tasks.
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _refresh_tokens(self) -> None:
        """Log in again, unless the REST side already replaced the tokens this socket used."""
        try:
            if await self._session.session_tokens() == self._tokens:
                await self._session.session_tokens(refresh=True)
        except TransientError as exc:
            logger.warning("capital.com stream could not refresh the session yet: %s", exc)

    async def _close_socket(self) -> None:
        ws = self._ws
        if ws is not None:
            await ws.close()

    # --- messages ----------------------------------------------------------------------------

    async def _request_if_connected(self, destination: str, payload: dict[str, Any]) -> None:
        if self._ws is None:
            return
        try:
            await self._request(destination, payload)
        except SessionExpiredError:
            await self._refresh_tokens()
            await self._close_socket()
        except (TransientError, ConnectionClosed):
            # The reconnect loop replays the desired set on the next connection.
            logger.info("capital.com stream %s deferred to the next connection", destination)

    async def _request(self, destination: str, payload: dict[str, Any]) -> StreamFrame:
        ws, tokens = self._ws, self._tokens
        if ws is None or tokens is None:
            raise TransientError(f"stream {destination}: not connected")
        correlation_id = str(next(self._correlation))
        answer: asyncio.Future[StreamFrame] = asyncio.get_running_loop().create_future()
        self._pending_acks[correlation_id] = answer
        message = {
            "destination": destination,
            "correlationId": correlation_id,
            "cst": tokens.cst,
            "securityToken": tokens.security_token,
            "payload": payload,
        }
        try:
            await ws.send(json.dumps(message))
            async with asyncio.timeout(self._config.ws_ack_timeout):
                frame = await answer
        except TimeoutError as exc:
            raise TransientError(f"stream {destination}: no answer from the venue") from exc
        finally:
            self._pending_acks.pop(correlation_id, None)
        if frame.status != "OK":
            raise _frame_error(frame, destination)
        return frame

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                try:
                    frame = StreamFrame.model_validate(decode_json(raw))
                    await self._dispatch(frame)
                except (ValueError, pydantic.ValidationError) as exc:
                    # One malformed frame must not take the stream down.
                    logger.warning("capital.com stream: ignoring malformed frame (%s)", exc)
        finally:
            # Nobody will answer the requests still waiting on this socket.
            self._fail_pending_acks()

    async def _dispatch(self, frame: StreamFrame) -> None:
        if frame.destination == "quote" and frame.payload is not None:
            quote = QuotePayload.model_validate(frame.payload)
            self.stats.quotes += 1
            await self._buffer.put_tick(tick_from_quote(quote, received_at=datetime.now(UTC)))
        elif frame.destination == "ohlc.event" and frame.payload is not None:
            bar = bar_from_ohlc(OhlcPayload.model_validate(frame.payload))
            self.stats.bars += 1
            await self._buffer.put(bar)
        elif frame.correlation_id is not None and frame.correlation_id in self._pending_acks:
            answer = self._pending_acks[frame.correlation_id]
            if not answer.done():
                answer.set_result(frame)
        elif frame.status == "ERROR":
            code = frame.venue_error_code
            logger.warning("capital.com stream error frame %s for %s", code, frame.destination)
            if code in _SESSION_ERROR_CODES:
                await self._refresh_tokens()
                await self._close_socket()


def _bar_payloads(subscriptions: Iterable[BarSubscription]) -> list[dict[str, Any]]:
    """One message per (type, resolution), each naming every epic that wants it."""
    groups: dict[tuple[BarType, Resolution], list[str]] = {}
    for sub in subscriptions:
        groups.setdefault((sub.bar_type, sub.resolution), []).append(sub.epic)
    return [
        {"epics": epics, "resolutions": [resolution.value], "type": bar_type.value}
        for (bar_type, resolution), epics in groups.items()
    ]


def _frame_error(frame: StreamFrame, destination: str) -> CapitalComError:
    code = frame.venue_error_code
    if code in _SESSION_ERROR_CODES:
        return SessionExpiredError(f"stream {destination} failed: {code}", error_code=code)
    # Stream errors carry no HTTP status; 400 makes the classifier judge by the code alone.
    return classify_venue_error(400, code, context=f"stream {destination}")
