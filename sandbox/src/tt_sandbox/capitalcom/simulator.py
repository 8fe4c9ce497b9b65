"""The simulator object: one market, its accounts, sessions, streams and faults behind one FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .accounts import AccountCredentials, Registry
from .clock import AcceleratedClock, Clock, RealClock, SteppedClock
from .config import DEFAULT_STEPPED_START, SimulatorConfig
from .engine import Engine
from .faults import Faults
from .instruments import BY_EPIC
from .market import Market
from .price_process import PriceProcess
from .rules import RateLimiter
from .sessions import SessionStore
from .streaming import StreamHub

# Known demo users, documented in the sandbox README; seeded unless config.seed_demo_users is False.
DEMO_USERS = (
    ("demo@trade-tracker.local", "demo-password", "DEMO-API-KEY-USD", "USD", Decimal(10000), False),
    ("hedger@trade-tracker.local", "hedger-password", "DEMO-API-KEY-HEDGING", "USD", Decimal(25000), True),
    ("euro@trade-tracker.local", "euro-password", "DEMO-API-KEY-EUR", "EUR", Decimal(10000), False),
)


@dataclass(frozen=True)
class ServerUrls:
    rest: str  # e.g. http://127.0.0.1:PORT/api/v1
    ws: str  # e.g. ws://127.0.0.1:PORT/connect
    base: str  # e.g. http://127.0.0.1:PORT


def make_clock(config: SimulatorConfig) -> Clock:
    if config.clock == "stepped":
        return SteppedClock(config.start or DEFAULT_STEPPED_START)
    if config.clock == "accelerated":
        return AcceleratedClock(config.speed, config.start)
    return RealClock()


class Simulator:
    def __init__(self, config: SimulatorConfig | None = None) -> None:
        from .app import create_app

        self.config = config or SimulatorConfig()
        self.clock = make_clock(self.config)
        self.registry = Registry()
        self.process = PriceProcess(
            self.config.seed, BY_EPIC, self.config.tick_seconds, self.config.history_years
        )
        self.market = Market(self.process, self.clock)
        self.engine = Engine(self.config, self.registry, self.market)
        self.sessions = SessionStore(self.config, self.registry)
        self.limiter = RateLimiter(self.config.rate_limits)
        self.streams = StreamHub(self)
        self.faults = Faults(self)
        self.streaming_host = self.config.streaming_host
        self.clock.on_advance(self.sync)
        if self.config.seed_demo_users:
            for identifier, password, api_key, currency, balance, hedging in DEMO_USERS:
                self.create_account(
                    currency, balance, hedging, identifier=identifier, password=password, api_key=api_key
                )
        self.app = create_app(self)

    def sync(self, now: datetime | None = None) -> None:
        """Run the market up to `now`: triggers and funding first, then the stream pushes."""
        now = now or self.clock.now()
        self.engine.run_until(now)
        self.streams.publish_until(now)

    def create_account(
        self,
        currency: str = "USD",
        balance: Decimal = Decimal("10000"),
        hedging: bool = False,
        *,
        identifier: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        extra_currencies: tuple[str, ...] = (),
    ) -> AccountCredentials:
        """A fresh, isolated client with one account (plus empty ones in `extra_currencies`)."""
        client = self.registry.create_client(
            currency, Decimal(balance), hedging, identifier, password, api_key, extra_currencies
        )
        return AccountCredentials(
            api_key=client.api_key,
            identifier=client.identifier,
            password=client.password,
            account_id=client.preferred_account_id,
            client_id=client.client_id,
        )

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[ServerUrls]:
        """Run uvicorn inside the current event loop (port 0 picks a free port)."""
        import uvicorn

        server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host=host,
                port=port,
                log_level="warning",
                lifespan="on",
                timeout_graceful_shutdown=1,
                ws_ping_interval=None,
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()  # surfaces a bind error
                raise RuntimeError("sandbox server stopped before starting")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        self.streaming_host = f"ws://{host}:{bound}/"
        try:
            yield ServerUrls(
                rest=f"http://{host}:{bound}/api/v1",
                ws=f"ws://{host}:{bound}/connect",
                base=f"http://{host}:{bound}",
            )
        finally:
            self.streams.drop_all()
            server.should_exit = True
            await task
