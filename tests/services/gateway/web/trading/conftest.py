"""The trading pages against the real path: gateway + identity (``web_stack``), the broker service and
market-data (dealing rules, quotes), both talking to the Capital.com simulator over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from tt_broker.app import create_runtime as broker_runtime
from tt_broker.testing import broker_settings
from tt_market_data.app import build as build_market_data
from tt_market_data.settings import Settings as MarketDataSettings
from tt_runtime.testing import running, service_settings
from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def sim():
    simulator = Simulator(
        SimulatorConfig(seed=11, clock="stepped", seed_demo_users=False, rate_limits=RateLimits(*(None,) * 6))
    )
    async with simulator.serve() as urls:
        simulator.urls = urls
        yield simulator


@dataclass
class TradingStack:
    web: Any  # the web_stack's Stack: url, mailbox
    sim: Simulator
    database_url: str

    @property
    def url(self) -> str:
        return self.web.url

    async def outbox_subjects(self) -> list[str]:
        """Subjects the gateway has put in its outbox (what it sent, or is about to send)."""
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            rows = await (await conn.execute("SELECT subject FROM gateway.outbox ORDER BY id")).fetchall()
        return [r[0] for r in rows]


@pytest.fixture
def trading_stack(
    web_stack, sim, nats_url, database_url
) -> Callable[..., AbstractAsyncContextManager[TradingStack]]:
    """``async with trading_stack() as stack``: broker and market-data (catalogue synced from the
    simulator) running beside the gateway and identity."""

    @asynccontextmanager
    async def start(**gateway_overrides: Any) -> AsyncIterator[TradingStack]:
        feed = sim.create_account()
        market_settings = service_settings(
            "market-data",
            nats_url,
            database_url,
            cls=MarketDataSettings,
            capitalcom_base_url=sim.urls.rest,
            capitalcom_ws_url=sim.urls.ws,
            capitalcom_api_key=feed.api_key,
            capitalcom_identifier=feed.identifier,
            capitalcom_password=feed.password,
            capitalcom_request_rate=50.0,
        )
        market_runtime, market_data, _live = build_market_data(market_settings)
        broker = broker_runtime(broker_settings(nats_url, database_url, sim.urls.rest))
        async with running(market_runtime, broker), web_stack(**gateway_overrides) as web:
            await market_data.sync_instruments()
            yield TradingStack(web, sim, database_url)

    return start


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert found, "layout carries the CSRF token"
    return found.group(1)


class Trader:
    """A signed-in browser session over httpx: pages, forms (with their CSRF token) and the API."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        page = await self.http.get(path, **kw)
        if page.headers.get("content-type", "").startswith("text/html") and 'name="csrf-token"' in page.text:
            self.csrf = csrf_of(page)
        return page

    async def post(self, path: str, data: dict[str, Any]) -> httpx.Response:
        if not self.csrf:
            await self.get("/dashboard")
        return await self.http.post(path, data={**data, "csrf_token": self.csrf})

    async def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        if not self.csrf:
            await self.get("/dashboard")
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return await self.http.request(method, "/api/v1" + path, headers=headers, **kw)

    def field(self, page: httpx.Response, name: str) -> str:
        """The value of the first hidden/text input called ``name`` on ``page``."""
        found = re.search(rf'name="{name}" value="([^"]*)"', page.text)
        assert found, f"no {name} field"
        return found.group(1)


@pytest.fixture
def trader() -> Callable[..., AbstractAsyncContextManager[Trader]]:
    """``async with trader(stack, "ada@example.com") as ada``: signed up, verified and signed in."""

    @asynccontextmanager
    async def sign_in(stack: TradingStack, email: str) -> AsyncIterator[Trader]:
        async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
            me = Trader(http)
            await me.get("/sign-up")
            signed_up = await me.post(
                "/sign-up",
                {
                    "email": email,
                    "display_name": email.split("@")[0],
                    "password": PASSWORD,
                    "password_confirm": PASSWORD,
                },
            )
            assert signed_up.status_code == 200, signed_up.text[:300]
            verified = await http.get(await stack.web.link_in_mail(email, "/verify-email"))
            assert verified.status_code == 200
            await me.get("/sign-in")
            signed_in = await me.post("/sign-in", {"email": email, "password": PASSWORD})
            assert signed_in.status_code == 303, signed_in.text[:300]
            await me.get("/dashboard")
            yield me

    return sign_in
