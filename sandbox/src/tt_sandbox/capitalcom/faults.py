"""Fault injection: what the real venue does on a bad day, switchable from tests and the admin endpoint.

HTTP faults are applied by an ASGI middleware in front of the API, so the handlers stay faithful;
dealing and streaming faults hook into the engine and the stream hub.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from .simulator import Simulator

TRADE_PATHS = ("/api/v1/positions", "/api/v1/workingorders")


@dataclass
class FaultSettings:
    latency: float = 0.0  # seconds added before every matching request
    fail_next: int = 0  # the next N matching requests answer `fail_status`
    fail_status: int = 503
    error_rate: float = 0.0  # share of matching requests that answer `fail_status` (seeded)
    path_prefix: str | None = None  # limit latency/failures to paths starting with this
    # Execute-then-timeout: the next N trade writes (POST/PUT/DELETE positions|workingorders) are applied,
    # then the reply is lost: "drop" breaks the connection mid-response, "delay" answers after timeout_delay.
    execute_then_timeout: int = 0
    timeout_mode: Literal["drop", "delay"] = "drop"
    timeout_delay: float = 30.0
    confirm_delay: float = 0.0  # seconds a fresh confirm answers 404 (wall time)
    drop_ohlc_events: int = 0  # swallow the next N ohlc.event frames


class Faults(FaultSettings):
    """The live fault switches of one simulator; also exposes the one-shot actions."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__()
        self._sim = sim
        self._random = random.Random(sim.config.seed)

    def set(self, **changes: Any) -> FaultSettings:
        names = {f.name for f in fields(FaultSettings)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        if "timeout_mode" in changes and changes["timeout_mode"] not in ("drop", "delay"):
            raise ValueError("timeout_mode must be drop or delay")
        for name, value in changes.items():
            setattr(self, name, value)
        return self.settings()

    def settings(self) -> FaultSettings:
        return FaultSettings(**{f.name: getattr(self, f.name) for f in fields(FaultSettings)})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.settings()) | {"rejectNextDeals": list(self._sim.engine.reject_next)}

    def reset(self) -> None:
        self.set(**asdict(FaultSettings()))
        self._sim.engine.reject_next.clear()

    def reject_next_deals(self, count: int = 1, reason: str = "RISK_CHECK") -> None:
        """The next `count` deal requests come back with a REJECTED confirm."""
        self._sim.engine.reject_next.extend([reason] * count)

    def drop_websockets(self) -> int:
        """Close every open stream from the server side; returns how many were open."""
        return self._sim.streams.drop_all()

    def invalidate_sessions(self, api_key: str | None = None) -> int:
        """Expire every session (or one client's): next calls get 401 error.invalid.session.token."""
        client = self._sim.registry.by_api_key.get(api_key) if api_key else None
        if api_key and client is None:
            raise ValueError("unknown API key")
        return self._sim.sessions.invalidate(client)

    # ---- used by the middleware -------------------------------------------------------------------
    def _matches(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)

    def _should_fail(self, path: str) -> bool:
        if not self._matches(path):
            return False
        if self.fail_next > 0:
            self.fail_next -= 1
            return True
        return self.error_rate > 0 and self._random.random() < self.error_rate

    def _should_lose_reply(self, method: str, path: str) -> bool:
        if (
            self.execute_then_timeout > 0
            and method in ("POST", "PUT", "DELETE")
            and path.startswith(TRADE_PATHS)
        ):
            self.execute_then_timeout -= 1
            return True
        return False


class FaultMiddleware:
    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_admin"):
            await self.app(scope, receive, send)
            return
        faults = self.faults
        if faults.latency and faults._matches(path):
            await asyncio.sleep(faults.latency)
        if faults._should_fail(path):
            await _send_json(send, faults.fail_status, {"errorCode": "error.service.unavailable"})
            return
        if not faults._should_lose_reply(scope["method"], path):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)  # the deal is applied here; its answer is held back
        if faults.timeout_mode == "delay":
            await asyncio.sleep(faults.timeout_delay)
            for message in held:
                await send(message)
            return
        start = next(m for m in held if m["type"] == "http.response.start")
        await send(start)
        # Headers promised a body that never comes: the server then drops the connection.
        raise ConnectionAbortedError("sandbox fault: reply lost after execution")


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
