"""Aggregate every service's status into one view. A service that does not answer in time is
reported down; the aggregate never fails because one service is missing."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from pydantic import BaseModel

from tt_contracts import SERVICES, registry
from tt_contracts.common import StatusReply, StatusRequest
from tt_runtime.service import ServiceRuntime


class ServiceState(BaseModel):
    service: str
    state: Literal["up", "degraded", "down"]
    latency_ms: float | None = None
    detail: StatusReply | None = None
    error: str | None = None


class SystemStatus(BaseModel):
    status: Literal["ok", "degraded"]
    services: list[ServiceState]


async def _probe(runtime: ServiceRuntime, service: str, timeout: float) -> ServiceState:
    started = time.perf_counter()
    try:
        if service == runtime.service:
            reply = await runtime.status()
        else:
            request = StatusRequest(producer=runtime.service)
            reply = await runtime.ask(registry.STATUS[service], request, timeout=timeout)
    except Exception as exc:
        return ServiceState(service=service, state="down", error=str(exc) or type(exc).__name__)
    assert isinstance(reply, StatusReply)
    latency = round((time.perf_counter() - started) * 1000, 2)
    state = "up" if reply.database == "up" else "degraded"
    return ServiceState(service=service, state=state, latency_ms=latency, detail=reply)


async def system_status(runtime: ServiceRuntime, timeout: float) -> SystemStatus:
    states = await asyncio.gather(*(_probe(runtime, service, timeout) for service in SERVICES))
    overall = "ok" if all(s.state == "up" for s in states) else "degraded"
    return SystemStatus(status=overall, services=list(states))
