"""pytest plugin: real NATS and Postgres for every test.

Enable with ``pytest_plugins = ["tt_runtime.testing.fixtures"]``. Under ``CI`` missing
infrastructure fails the run; on a developer machine the tests that need it are skipped with the
reason (install hint) instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlparse, urlunparse

import nats
import psycopg
import pytest
import pytest_asyncio

from tt_contracts import SERVICES

from .. import migrate
from ..local_servers import Infrastructure, InfrastructureUnavailable, LocalNatsServer, resolve_infrastructure
from ..streams import apply_streams


def with_database(url: str, name: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=f"/{name}"))


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    try:
        infra = resolve_infrastructure()
    except InfrastructureUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"test infrastructure unavailable under CI: {exc}", pytrace=False)
        pytest.skip(f"test infrastructure unavailable: {exc}")
    yield infra
    infra.close()


@pytest.fixture(scope="session")
def nats_url(infrastructure: Infrastructure) -> str:
    return infrastructure.nats_url


@pytest.fixture(scope="session")
def template_database_url(infrastructure: Infrastructure) -> Iterator[str]:
    """A database with every service's migrations applied, cloned for each test."""
    name = f"tt_template_{uuid.uuid4().hex[:8]}"
    with _admin(infrastructure.database_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(infrastructure.database_url, name)
    for service in SERVICES:
        migrate.upgrade(service, url)
    yield url
    with _admin(infrastructure.database_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(infrastructure: Infrastructure, template_database_url: str) -> Iterator[str]:
    """A fresh, fully migrated database of this test's own."""
    name = f"tt_test_{uuid.uuid4().hex[:12]}"
    template = urlparse(template_database_url).path.lstrip("/")
    with _admin(infrastructure.database_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield with_database(infrastructure.database_url, name)
    with _admin(infrastructure.database_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture
async def jetstream(nats_url: str) -> AsyncIterator[nats.js.JetStreamContext]:
    """A JetStream context on freshly provisioned streams (every stream emptied and re-created)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for info in await js.streams_info():
        await js.delete_stream(info.config.name)
    await apply_streams(js)
    yield js
    await nc.close()


@pytest.fixture
def own_nats_server() -> Iterator[LocalNatsServer]:
    """A nats-server of this test's own, to kill and restart."""
    server = LocalNatsServer().start()
    yield server
    server.cleanup()
