"""Helpers for identity's tests and benchmarks: a running identity service on real NATS/Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from tt_contracts import Reply, Request, Route
from tt_runtime.client import ask
from tt_runtime.service import ServiceRuntime
from tt_runtime.testing import running, service_settings

from .app import create_service
from .service import IdentityService
from .settings import Settings

CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 8, "argon2_parallelism": 1}


def identity_settings(nats_url: str, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        **CHEAP_ARGON2,
        "identity_key_encryption_key": "test-key-encryption-key-0123456789",
        "public_url": "http://gateway.test",
        "lockout_base_seconds": 60.0,
    }
    values.update(overrides)
    return service_settings("identity", nats_url, database_url, cls=Settings, **values)


@dataclass
class RunningIdentity:
    runtime: ServiceRuntime
    service: IdentityService

    async def ask(self, route: Route, request: Request, timeout: float = 10.0) -> Reply:
        return await ask(self.runtime.broker, route, request, timeout=timeout)


@asynccontextmanager
async def running_identity(settings: Settings) -> AsyncIterator[RunningIdentity]:
    runtime, service = create_service(settings)
    async with running(runtime):
        try:
            yield RunningIdentity(runtime, service)
        finally:
            await service.drain()
            await service.close()
