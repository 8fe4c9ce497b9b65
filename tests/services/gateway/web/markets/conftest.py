"""The markets pages against the real platform path: gateway + identity (the ``web_stack``), plus
market-data fed by the Capital.com simulator (stepped clock) and, when a test draws charts,
chart-render with a local object store."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from faststream.nats import NatsBroker

from tt_chart_render.adapters.storage import LocalObjectStore
from tt_chart_render.app import build as build_chart_render
from tt_chart_render.settings import Settings as ChartSettings
from tt_contracts import market_data as md
from tt_contracts.common import InstrumentRef
from tt_market_data.app import build as build_market_data
from tt_market_data.live import LiveFeed
from tt_market_data.settings import Settings as MarketSettings
from tt_runtime.client import ask
from tt_runtime.testing import running, service_settings
from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig

PASSWORD = "correct horse battery staple"


@dataclass
class Markets:
    url: str
    stack: object  # the web stack: identity's mails for sign-up
    sim: Simulator
    bus: NatsBroker
    live: LiveFeed

    async def backfill(self, symbol: str, timeframe: str, days: int) -> md.BackfillReply:
        """Stored history from the simulator, as an operator's backfill would fetch it."""
        now = self.sim.clock.now()
        request = md.BackfillRequest(
            instrument=InstrumentRef(symbol=symbol), timeframe=timeframe, start=now - timedelta(days=days)
        )
        reply = await ask(self.bus, md.HISTORY_BACKFILL, request, timeout=60)
        assert isinstance(reply, md.BackfillReply)
        return reply

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)

    @asynccontextmanager
    async def signed_in(self, email: str) -> AsyncIterator[httpx.AsyncClient]:
        """A new browser-like client, signed up, verified and signed in as ``email``."""
        async with self.client() as http:
            await self._sign_up_and_in(http, email)
            yield http

    async def _sign_up_and_in(self, http: httpx.AsyncClient, email: str) -> None:
        page = await http.get("/sign-up")
        done = await http.post(
            "/sign-up",
            data={
                "email": email,
                "display_name": email.split("@")[0],
                "password": PASSWORD,
                "password_confirm": PASSWORD,
                "csrf_token": csrf(page),
            },
        )
        assert done.status_code == 200, done.text[:300]
        verified = await http.get(await self.stack.link_in_mail(email, "/verify-email"))
        assert verified.status_code == 200
        page = await http.get("/sign-in")
        signed = await http.post(
            "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": csrf(page)}
        )
        assert signed.status_code == 303, signed.text[:300]


def csrf(page: httpx.Response) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert found, "the layout carries the CSRF token"
    return found.group(1)


@pytest.fixture
def csrf_of() -> Callable[[httpx.Response], str]:
    return csrf


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(SimulatorConfig(seed=7, clock="stepped", rate_limits=RateLimits(*(None,) * 6)))
    async with simulator.serve() as urls:
        simulator.urls = urls
        simulator.creds = simulator.create_account(currency="USD", balance=Decimal("10000"), hedging=False)
        yield simulator


@pytest.fixture
def markets_stack(
    web_stack, sim, nats_url, database_url, tmp_path
) -> Callable[..., AbstractAsyncContextManager[Markets]]:
    """``async with markets_stack(charts=False, live=False, browser=False) as markets``: the web stack plus
    market-data (catalogue synced), and chart-render when ``charts``; ``live`` streams EURUSD quotes
    from the simulator (advance ``markets.sim.clock`` to make them)."""

    @asynccontextmanager
    async def start(
        charts: bool = False, live: bool = False, browser: bool = False
    ) -> AsyncIterator[Markets]:
        market_settings = service_settings(
            "market-data",
            nats_url,
            database_url,
            cls=MarketSettings,
            capitalcom_base_url=sim.urls.rest,
            capitalcom_ws_url=sim.urls.ws,
            capitalcom_api_key=sim.creds.api_key,
            capitalcom_identifier=sim.creds.identifier,
            capitalcom_password=sim.creds.password,
            capitalcom_request_rate=50.0,
            live_enabled=live,
            live_epics=["EURUSD"],
            live_lease=False,
            live_flush_seconds=0.1,
        )
        market_runtime, _service, feed = build_market_data(market_settings)
        async with AsyncExitStack() as services:
            await services.enter_async_context(running(market_runtime))
            if charts:
                chart_settings = service_settings(
                    "chart-render", nats_url, database_url, cls=ChartSettings, render_workers=1
                )
                chart = build_chart_render(chart_settings, store=LocalObjectStore(tmp_path / "charts"))
                services.push_async_callback(chart.pool.stop)
                await services.enter_async_context(running(chart.runtime))
                await chart.pool.start()
            bus = NatsBroker(nats_url)
            await bus.connect()
            services.push_async_callback(bus.stop)
            await ask(bus, md.INSTRUMENTS_SYNC, md.SyncInstruments(), timeout=30)
            stack = await services.enter_async_context(web_stack(browser=browser))
            yield Markets(url=stack.url, stack=stack, sim=sim, bus=bus, live=feed)

    return start
