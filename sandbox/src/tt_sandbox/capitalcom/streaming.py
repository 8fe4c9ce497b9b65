"""The WebSocket stream: envelope handling, subscriptions, quote pushes and OHLC bars at bar close.

Pushes are produced synchronously whenever the simulator runs up to a new time (clock step or the
real-time pump) and queued per connection; one sender task per connection writes them in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fastapi import WebSocket, WebSocketDisconnect

from .errors import ApiError
from .formats import epoch_ms, num
from .instruments import BY_EPIC
from .price_process import RESOLUTIONS, Bar, bar_start
from .sessions import Session

if TYPE_CHECKING:
    from .simulator import Simulator

OHLC_TYPES = ("classic", "heikin-ashi")
_CLOSE = object()  # queue sentinel: close the socket


@dataclass
class Connection:
    websocket: WebSocket
    last_ping: datetime
    session: Session | None = None
    quotes: set[str] = field(default_factory=set)
    bars: set[tuple[str, str, str]] = field(default_factory=set)  # (epic, resolution, type)
    outbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    closed: bool = False

    def push(self, frame: dict[str, Any]) -> None:
        if not self.closed:
            self.outbox.put_nowait(frame)

    def close(self, code: int = 1000) -> None:
        if not self.closed:
            self.closed = True
            self.outbox.put_nowait((_CLOSE, code))


class StreamHub:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.connections: list[Connection] = []
        self.last_published = sim.clock.now()

    # ---- connection lifecycle ----------------------------------------------------------------------
    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        connection = Connection(websocket, last_ping=self.sim.clock.now())
        self.connections.append(connection)
        sender = asyncio.create_task(self._send_loop(connection))
        try:
            while not connection.closed:
                text = await websocket.receive_text()
                self.sim.sync()
                self._handle(connection, text)
        except WebSocketDisconnect:
            pass
        finally:
            connection.closed = True
            if connection in self.connections:
                self.connections.remove(connection)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _send_loop(self, connection: Connection) -> None:
        while True:
            frame = await connection.outbox.get()
            if isinstance(frame, tuple) and frame[0] is _CLOSE:
                with contextlib.suppress(RuntimeError):  # already closed by the peer
                    await connection.websocket.close(code=frame[1])
                return
            try:
                await connection.websocket.send_text(json.dumps(frame))
            except (RuntimeError, WebSocketDisconnect, OSError):
                connection.closed = True
                return

    def drop_all(self) -> int:
        count = len(self.connections)
        for connection in list(self.connections):
            connection.close(code=1011)
        return count

    def drop_session(self, session: Session) -> None:
        for connection in list(self.connections):
            if connection.session is session:
                connection.close(code=1000)

    # ---- client messages ------------------------------------------------------------------------------
    def _handle(self, connection: Connection, text: str) -> None:
        try:
            message = json.loads(text)
            if not isinstance(message, dict):
                raise ValueError
        except ValueError:
            connection.push(
                {
                    "status": "ERROR",
                    "destination": None,
                    "errorCode": "error.invalid.message",
                    "payload": {"errorCode": "error.invalid.message"},
                }
            )
            return
        destination = message.get("destination")
        correlation = message.get("correlationId")
        correlation = None if correlation is None else str(correlation)  # a number comes back as a string
        try:
            now = self.sim.clock.now()
            session = self.sim.sessions.authenticate(message.get("cst"), message.get("securityToken"), now)
            connection.session = session
            payload = message.get("payload") or {}
            result = self._dispatch(connection, destination, payload, now)
        except ApiError as error:
            code = error.code
            connection.push(
                {
                    "status": "ERROR",
                    "destination": destination,
                    "correlationId": correlation,
                    "errorCode": code,
                    "payload": {"errorCode": code},
                }
            )
            return
        connection.push(
            {"status": "OK", "destination": destination, "correlationId": correlation, "payload": result}
        )
        if destination == "marketData.subscribe":
            for epic in payload.get("epics", []):  # a first quote straight away, like a snapshot
                quote = self.sim.market.quote(epic)
                connection.push(self._quote_frame(epic, quote.bid, quote.ask, quote.time))

    def _dispatch(
        self, connection: Connection, destination: Any, payload: dict[str, Any], now: datetime
    ) -> dict:
        if destination == "ping":
            connection.last_ping = now
            return {}
        if destination not in (
            "marketData.subscribe",
            "marketData.unsubscribe",
            "OHLCMarketData.subscribe",
            "OHLCMarketData.unsubscribe",
        ):
            raise ApiError(400, "error.invalid.destination")
        epics = payload.get("epics")
        if not isinstance(epics, list) or not epics or not all(isinstance(e, str) for e in epics):
            raise ApiError(400, "error.invalid.epics")
        if len(epics) > self.sim.config.ws_max_epics:
            raise ApiError(400, "error.invalid.epics.size")
        unknown = [e for e in epics if e not in BY_EPIC]
        if unknown and destination.endswith(".subscribe"):
            raise ApiError(400, "error.invalid.epic")
        if destination == "marketData.subscribe":
            if len(connection.quotes | set(epics)) > self.sim.config.ws_max_epics:
                raise ApiError(400, "error.invalid.epics.size")
            connection.quotes |= set(epics)
            return {"subscriptions": dict.fromkeys(epics, "PROCESSED")}
        if destination == "marketData.unsubscribe":
            connection.quotes -= set(epics)
            return {"subscriptions": dict.fromkeys(epics, "PROCESSED")}
        if destination == "OHLCMarketData.subscribe":
            resolutions = payload.get("resolutions") or ["MINUTE"]
            kind = payload.get("type") or "classic"
            if any(r not in RESOLUTIONS for r in resolutions):
                raise ApiError(400, "error.invalid.resolution")
            if kind not in OHLC_TYPES:
                raise ApiError(400, "error.invalid.type")
            keys = [(e, r, kind) for e in epics for r in resolutions]
            if len({e for e, _, _ in connection.bars | set(keys)}) > self.sim.config.ws_max_epics:
                raise ApiError(400, "error.invalid.epics.size")
            connection.bars |= set(keys)
            return {"subscriptions": {f"{e}:{r}:{t}": "PROCESSED" for e, r, t in keys}}
        # OHLCMarketData.unsubscribe: exactly what is named; omitted resolutions/types mean all of them.
        resolutions = payload.get("resolutions") or list(RESOLUTIONS)
        kinds = payload.get("types") or list(OHLC_TYPES)
        removed = {k for k in connection.bars if k[0] in epics and k[1] in resolutions and k[2] in kinds}
        connection.bars -= removed
        return {"subscriptions": {f"{e}:{r}:{t}": "PROCESSED" for e, r, t in sorted(removed)}}

    # ---- pushes --------------------------------------------------------------------------------------
    def publish_until(self, now: datetime) -> None:
        previous = self.last_published
        if now <= previous:
            return
        self.last_published = now
        for connection in list(self.connections):
            if (now - connection.last_ping).total_seconds() > self.sim.config.ws_ping_timeout:
                connection.close(code=1000)  # no ping for too long
        live = [c for c in self.connections if not c.closed and c.session and c.session.valid]
        if not live:
            return
        frames: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
        for epic in sorted({e for c in live for e in c.quotes}):
            frames[f"q:{epic}"] = self._quote_frames(epic, previous, now)
        for key in sorted({k for c in live for k in c.bars}):
            frames[f"b:{key}"] = self._bar_frames(*key, previous, now)
        for connection in live:
            timeline = [f for e in connection.quotes for f in frames[f"q:{e}"]]
            timeline += [f for k in connection.bars for f in frames[f"b:{k}"]]
            for _, frame in sorted(timeline, key=lambda item: item[0]):
                if frame["destination"] == "ohlc.event" and self.sim.faults.drop_ohlc_events > 0:
                    self.sim.faults.drop_ohlc_events -= 1
                    continue
                connection.push(frame)

    def _quote_frame(self, epic: str, bid: Decimal, ask: Decimal, stamp: datetime) -> dict[str, Any]:
        # Depth is not simulated: a constant size is quoted on both sides.
        payload = {
            "epic": epic,
            "product": "CFD",
            "bid": num(bid),
            "bidQty": 5000.0,
            "ofr": num(ask),
            "ofrQty": 5000.0,
            "timestamp": epoch_ms(stamp),
        }
        return {"status": "OK", "destination": "quote", "payload": payload}

    def _quote_frames(
        self, epic: str, after: datetime, until: datetime
    ) -> list[tuple[datetime, dict[str, Any]]]:
        process = self.sim.process
        instrument = BY_EPIC[epic]
        ticks = list(process.ticks_between(epic, after, until))[-self.sim.config.max_quotes_per_step :]
        return [
            (stamp, self._quote_frame(epic, *process.bid_ask(instrument, mid), stamp)) for stamp, mid in ticks
        ]

    def _bar_frames(self, epic: str, resolution: str, kind: str, after: datetime, until: datetime):
        """ohlc.event for every bar that closed in (after, until], once for bid and once for ask."""
        process = self.sim.process
        instrument = BY_EPIC[epic]
        step = timedelta(seconds=RESOLUTIONS[resolution])
        start = bar_start(after, resolution)
        frames = []
        while start + step <= until:
            close = start + step
            if close > after:
                bar = process.bar(epic, resolution, start, close)
                if bar is not None:
                    if kind == "heikin-ashi":
                        bar = self._heikin_ashi(epic, resolution, bar, step)
                    for price_type in ("bid", "ask"):
                        frames.append(
                            (close, self._bar_frame(instrument, epic, resolution, kind, price_type, bar))
                        )
            start = close
        return frames

    def _heikin_ashi(self, epic: str, resolution: str, bar: Bar, step: timedelta) -> Bar:
        # Seeded from the previous classic bar rather than the full recursive chain (an approximation).
        previous = self.sim.process.bar(epic, resolution, bar.start - step, bar.start)
        close = (bar.open + bar.high + bar.low + bar.close) / 4
        opening = (previous.open + previous.close) / 2 if previous else (bar.open + bar.close) / 2
        return Bar(
            bar.start, opening, max(bar.high, opening, close), min(bar.low, opening, close), close, bar.ticks
        )

    def _bar_frame(
        self, instrument: Any, epic: str, resolution: str, kind: str, price_type: str, bar: Bar
    ) -> dict:
        def price(value: float) -> float | None:
            bid, ask = self.sim.process.bid_ask(instrument, value)
            return num(bid if price_type == "bid" else ask)

        payload = {
            "resolution": resolution,
            "epic": epic,
            "type": kind,
            "priceType": price_type,
            "t": epoch_ms(bar.start),
            "h": price(bar.high),
            "l": price(bar.low),
            "o": price(bar.open),
            "c": price(bar.close),
        }
        return {"status": "OK", "destination": "ohlc.event", "payload": payload}
