"""Every knob of the simulator in one frozen object.

Defaults follow the real API (limits, timeouts); tests usually switch rate limits off or use a
stepped clock, and the demo mode runs an accelerated clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

ClockKind = Literal["real", "accelerated", "stepped"]

# A Monday noon: every market type is open, so a fresh stepped simulator can trade at once.
DEFAULT_STEPPED_START = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class RateLimits:
    """The documented limits; each can be switched off with None."""

    requests_per_second: int | None = 10  # all requests, per user
    trade_interval_seconds: float | None = 0.1  # one position/order creation per 0.1 s per user
    session_interval_seconds: float | None = 1.0  # POST /session once per second per API key
    demo_trades_per_hour: int | None = 1000  # POST /positions + POST /workingorders on demo
    topups_per_second: int | None = 10
    topups_per_day: int | None = 100


@dataclass(frozen=True)
class SimulatorConfig:
    seed: int = 7
    clock: ClockKind = "real"
    speed: float = 60.0  # sim seconds per real second, for the accelerated clock
    start: datetime | None = None  # sim start; defaults: real now, or DEFAULT_STEPPED_START when stepped

    # Session lifetime [DOC: 10 min idle]; hard cap observed at ~1 h (None switches it off).
    session_idle_timeout: float = 600.0
    session_hard_cap: float | None = 3600.0
    new_login_invalidates_old: bool = False  # observed "session collision" (single source)
    timezone_offset_hours: int = 0  # account-local time = UTC + this, for the plain date fields

    rate_limits: RateLimits = field(default_factory=RateLimits)
    # How the 1-per-0.1 s trade limit rejects is undocumented: "http" -> 429, "confirm" -> REJECTED.
    trade_rate_rejection: Literal["http", "confirm"] = "http"

    # WebSocket
    ws_ping_timeout: float = 600.0  # drop a stream that has not pinged for this long (sim seconds)
    ws_max_epics: int = 40
    max_quotes_per_step: int = 600  # per epic per engine step, so a big clock jump does not flood sockets

    # Price process
    tick_seconds: int = 1  # quote grid; must divide 60 and leave at least 4 ticks per minute
    history_years: int = 20  # how far back /prices can reach

    demo_balance_cap: int = 100_000
    seed_demo_users: bool = True
    # Where clients are told to stream from; filled in by serve()/the CLI when the port is known.
    streaming_host: str = "ws://127.0.0.1:8201/"

    def __post_init__(self) -> None:
        if self.clock not in ("real", "accelerated", "stepped"):
            raise ValueError(f"clock must be real, accelerated or stepped, not {self.clock!r}")
        if 60 % self.tick_seconds or 60 // self.tick_seconds < 4:
            raise ValueError("tick_seconds must divide 60 and leave at least 4 ticks per minute")
        if self.speed <= 0:
            raise ValueError("speed must be positive")
