"""Helpers for the broker's tests and benchmarks: a running service against the simulator."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import nats
from pydantic import SecretStr

from tt_contracts import broker as c
from tt_contracts.common import InstrumentRef, Side
from tt_runtime.client import ask
from tt_runtime.testing import service_settings

from .app import BrokerRuntime, create_runtime
from .settings import Settings


def broker_settings(nats_url: str, database_url: str, rest_url: str | None, **overrides: Any) -> Settings:
    """The runtime's test settings plus fast broker timings, pointed at a simulator."""
    values: dict[str, Any] = dict(
        capitalcom_base_url=rest_url,
        capitalcom_request_timeout=2.0,
        capitalcom_confirm_timeout=3.0,
        poll_seconds=0.5,
        reconcile_settle_seconds=1.5,
        order_lease_seconds=5.0,
    )
    values.update(overrides)
    return service_settings("broker", nats_url, database_url, cls=Settings, **values)


def place(user_id: uuid.UUID, account_id: uuid.UUID | None, epic: str, side: str, size: str, **kw: Any):
    return c.PlaceOrder(
        user_id=user_id,
        account_id=account_id,
        idempotency_key=kw.pop("idempotency_key", f"key-{uuid.uuid4()}"),
        instrument=InstrumentRef(symbol=epic),
        side=Side(side),
        size=Decimal(size),
        expires_at=kw.pop("expires_at", datetime.now(UTC) + timedelta(seconds=60)),
        **kw,
    )


@dataclass
class Harness:
    runtime: BrokerRuntime
    nc: Any
    events: dict[str, list[dict[str, Any]]]

    @property
    def svc(self):
        return self.runtime.service_impl

    async def send(self, route: Any, message: Any, *, msg_id: str | None = None) -> None:
        js = self.nc.jetstream()
        await js.publish(
            route.subject.base,
            message.model_dump_json().encode(),
            headers={"Nats-Msg-Id": msg_id or str(message.message_id)},
        )

    async def ask(self, route: Any, request: Any) -> Any:
        return await ask(self.runtime.broker, route, request, timeout=10)

    def of(self, name: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e for e in self.events.get(name, []) if all(str(e.get(k)) == str(v) for k, v in match.items())
        ]

    async def connect(self, user_id: uuid.UUID, creds: Any, label: str = "") -> c.AccountConnectedReply:
        request = c.ConnectAccount(
            user_id=user_id,
            identifier=creds.identifier,
            api_key=SecretStr(creds.api_key),
            api_key_password=SecretStr(creds.password),
            label=label,
        )
        # SecretStr dumps masked: the caller must put the secrets on the wire explicitly.
        body = json.loads(request.model_dump_json())
        body.update(api_key=creds.api_key, api_key_password=creds.password)
        reply = await self.nc.request(c.ACCOUNT_CONNECT.subject.base, json.dumps(body).encode(), timeout=10)
        data = json.loads(reply.data)
        if "error" in data:
            raise RuntimeError(data["error"]["message"])
        return c.AccountConnectedReply.model_validate(data)


@asynccontextmanager
async def broker_harness(settings: Settings) -> AsyncIterator[Harness]:
    runtime = create_runtime(settings)
    nc = await nats.connect(settings.nats_url)
    events: dict[str, list[dict[str, Any]]] = {}

    async def collect(msg: Any) -> None:
        name = ".".join(msg.subject.split(".")[2:4])
        events.setdefault(name, []).append(json.loads(msg.data))

    sub = await nc.subscribe("broker.evt.>", cb=collect)
    await runtime.start()
    try:
        yield Harness(runtime, nc, events)
    finally:
        await runtime.stop()
        await sub.unsubscribe()
        await nc.close()
        await asyncio.sleep(0)
