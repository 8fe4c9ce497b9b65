"""Fixtures for the market-data tests: a stepped Capital.com simulator and the service wired to it."""

from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from faststream.nats import NatsBroker

from tt_market_data.app import build
from tt_market_data.settings import Settings
from tt_runtime.testing import running, service_settings
from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig


@pytest.fixture
async def sim():
    simulator = Simulator(SimulatorConfig(seed=7, clock="stepped", rate_limits=RateLimits(*(None,) * 6)))
    async with simulator.serve() as urls:
        simulator.urls = urls
        simulator.creds = simulator.create_account(currency="USD", balance=Decimal("10000"), hedging=False)
        yield simulator


@pytest.fixture
def market_data(nats_url, database_url, jetstream, sim):
    """A factory: ``async with market_data(**overrides) as (runtime, service, live)``."""

    @asynccontextmanager
    async def start(**overrides):
        values = dict(
            capitalcom_base_url=sim.urls.rest,
            capitalcom_ws_url=sim.urls.ws,
            capitalcom_api_key=sim.creds.api_key,
            capitalcom_identifier=sim.creds.identifier,
            capitalcom_password=sim.creds.password,
            capitalcom_request_rate=50.0,
            live_flush_seconds=0.1,
        )
        values.update(overrides)
        settings = service_settings("market-data", nats_url, database_url, cls=Settings, **values)
        runtime, service, live = build(settings)
        async with running(runtime):
            yield runtime, service, live

    return start


@pytest.fixture
async def client(nats_url):
    broker = NatsBroker(nats_url)
    await broker.connect()
    yield broker
    await broker.stop()
