"""Shared fixtures: a stepped simulator without rate limits, an in-process HTTP client, a logged-in caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig

NO_LIMITS = RateLimits(None, None, None, None, None, None)


class Api:
    """A thin logged-in caller: sends the tokens, adopts rotated ones, returns (status, json)."""

    def __init__(self, http: httpx.AsyncClient, creds) -> None:
        self.http = http
        self.creds = creds
        self.headers: dict[str, str] = {}

    async def login(self) -> dict:
        response = await self.http.post(
            "/api/v1/session",
            headers={"X-CAP-API-KEY": self.creds.api_key},
            json={"identifier": self.creds.identifier, "password": self.creds.password},
        )
        assert response.status_code == 200, response.text
        self.headers = {
            "CST": response.headers["CST"],
            "X-SECURITY-TOKEN": response.headers["X-SECURITY-TOKEN"],
        }
        return response.json()

    async def call(self, method: str, path: str, **kwargs) -> tuple[int, dict]:
        response = await self.http.request(method, f"/api/v1/{path}", headers=self.headers, **kwargs)
        if "X-SECURITY-TOKEN" in response.headers:
            self.headers["X-SECURITY-TOKEN"] = response.headers["X-SECURITY-TOKEN"]
        return response.status_code, response.json()

    async def get(self, path: str, **kwargs) -> tuple[int, dict]:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        return await self.call("POST", path, json=body)

    async def put(self, path: str, body: dict) -> tuple[int, dict]:
        return await self.call("PUT", path, json=body)

    async def delete(self, path: str) -> tuple[int, dict]:
        return await self.call("DELETE", path)

    async def deal(self, path: str, body: dict) -> dict:
        """POST/PUT a deal and return its confirm."""
        method = "PUT" if body.pop("_method", None) == "PUT" else "POST"
        status, reply = await self.call(method, path, json=body)
        assert status == 200, reply
        status, confirm = await self.get(f"confirms/{reply['dealReference']}")
        assert status == 200, confirm
        return confirm


@pytest.fixture
def sim() -> Simulator:
    return Simulator(SimulatorConfig(seed=7, clock="stepped", rate_limits=NO_LIMITS))


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


@pytest.fixture
async def api(sim: Simulator, http: httpx.AsyncClient) -> Api:
    caller = Api(http, sim.create_account(currency="USD", balance=Decimal("10000")))
    await caller.login()
    return caller


@pytest.fixture
async def hedged_api(sim: Simulator, http: httpx.AsyncClient) -> Api:
    caller = Api(http, sim.create_account(currency="USD", balance=Decimal("10000"), hedging=True))
    await caller.login()
    return caller


@pytest.fixture
def login_as(http: httpx.AsyncClient):
    """Log in as given credentials: `caller, session_body = await login_as(creds)`."""

    async def login(creds) -> tuple[Api, dict]:
        caller = Api(http, creds)
        return caller, await caller.login()

    return login


@pytest.fixture
async def api_for():
    """A simulator with its own config and a logged-in caller: `sim, caller = await api_for(config)`."""
    clients: list[httpx.AsyncClient] = []

    async def make(config: SimulatorConfig, **account: object) -> tuple[Simulator, Api]:
        sim = Simulator(config)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sandbox")
        clients.append(http)
        caller = Api(http, sim.create_account(**account))
        await caller.login()
        return sim, caller

    yield make
    for client in clients:
        await client.aclose()
