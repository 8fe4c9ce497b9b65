"""Shared set-up for benchmarks: real servers of their own, torn down afterwards."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from tt_contracts import SERVICES

from .. import migrate
from ..local_servers import LocalNatsServer, LocalPostgres


@dataclass
class BenchInfra:
    nats_url: str
    database_url: str


@contextlib.contextmanager
def bench_infrastructure() -> Iterator[BenchInfra]:
    """A fresh nats-server (sync_interval: always) and a Postgres cluster with fsync on, as in production."""
    nats = LocalNatsServer().start()
    pg = LocalPostgres(durable=True).start()
    try:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = pg.url.rsplit("/", 1)[0] + f"/{name}"
        for service in SERVICES:
            migrate.upgrade(service, url)
        yield BenchInfra(nats.url, url)
    finally:
        nats.cleanup()
        pg.cleanup()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
