"""``ServiceRuntime``: everything a service needs, wired once.

A worker service's ``create_app`` is::

    runtime = ServiceRuntime(settings)
    runtime.include(handlers)
    return runtime.ops_app()

and gets logging, tracing, metrics, the broker with the error policy, the database, the outbox
relay, the status responder and the ops endpoints (/healthz, /readyz, /metrics, /docs/asyncapi).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nats.js
import structlog
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tt_contracts import Reply, Request, Route, registry
from tt_contracts.common import StatusReply, StatusRequest, StreamLag

from .bus import Handlers, build_broker, build_router, durable_name
from .client import ask
from .db import Database, UnitOfWork
from .dead_letters import DeadLetterStore
from .errors import PermanentError
from .logging import configure_logging
from .outbox import OutboxRelay
from .policy import ErrorPolicy
from .settings import RuntimeSettings
from .telemetry import setup_telemetry

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class HealthSnapshot:
    database: str = "unknown"
    outbox_pending: int = 0
    dead_letters: int = 0
    consumers: list[StreamLag] = field(default_factory=list)


class ServiceRuntime:
    def __init__(self, settings: RuntimeSettings) -> None:
        configure_logging(settings)
        self.settings = settings
        self.service = settings.service_name
        self.instance = f"{socket.gethostname()}-{os.getpid()}"
        self.started_at = datetime.now(UTC)
        self._started_monotonic = time.monotonic()
        self.telemetry = setup_telemetry(settings)
        self.db = Database(settings)
        self.dead_letters = DeadLetterStore(self.db)
        self.policy = ErrorPolicy(settings, self.dead_letters, self.telemetry)
        self.broker = build_broker(settings, self.policy, self.telemetry)
        self.relay = OutboxRelay(
            self.db,
            self.jetstream,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
            publish_timeout=settings.relay_publish_timeout_seconds,
            telemetry=self.telemetry,
            service=self.service,
        )
        self.handlers: list[Handlers] = []
        self._health = HealthSnapshot()
        self._health_task: asyncio.Task[None] | None = None
        status = Handlers(self.service)
        status.respond(registry.STATUS[self.service], transactional=False)(self._status)
        self.include(status)

    # -- wiring -----------------------------------------------------------------------------------
    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.db, self.service, self.relay)

    def include(self, handlers: Handlers) -> None:
        if handlers.service != self.service:
            raise ValueError(f"handlers of {handlers.service} cannot run in {self.service}")
        self.handlers.append(handlers)
        self.broker.include_router(
            build_router(handlers, settings=self.settings, uow_factory=self.unit_of_work, policy=self.policy)
        )

    async def ask(self, route: Route, request: Request, *, timeout: float | None = None) -> Reply:
        """Ask another service; only a registered caller of ``route`` may."""
        if self.service not in route.producers:
            raise PermanentError(f"{self.service} is not a registered caller of {route.subject.base}")
        return await ask(
            self.broker, route, request, timeout=timeout or self.settings.request_timeout_seconds
        )

    def jetstream(self) -> nats.js.JetStreamContext:
        return self.broker.connection.jetstream()

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the broker (for apps not run by AsgiFastStream, i.e. the gateway) and the relay."""
        await self.broker.start()
        await self.after_startup()

    async def after_startup(self) -> None:
        self.relay.start()
        await self.refresh_health()
        self._health_task = asyncio.create_task(self._refresh_health_forever(), name="health-refresh")
        log.info("service started", instance=self.instance, port=self.settings.service_port)

    async def stop(self) -> None:
        await self.on_shutdown()
        await self.broker.stop()

    async def on_shutdown(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
            self._health_task = None
        await self.relay.stop()
        await self.db.dispose()
        self.telemetry.shutdown()

    # -- status and health ------------------------------------------------------------------------
    async def ready(self) -> dict[str, str]:
        nats_ok = await self.broker.ping(timeout=2.0)
        db_ok = await self.db.ping()
        return {"nats": "up" if nats_ok else "down", "database": "up" if db_ok else "down"}

    async def refresh_health(self) -> None:
        """Database-backed figures for status and metrics, refreshed in the background so a status
        request never waits on the database (operators read them a couple of seconds old at most)."""
        try:
            outbox_pending = await self.relay.pending_count()
            dead = await self.dead_letters.count_open()
            self._health = HealthSnapshot("up", outbox_pending, dead, await self._consumer_lag())
        except Exception as exc:
            self._health = HealthSnapshot(
                f"down: {type(exc).__name__}",
                self._health.outbox_pending,
                self._health.dead_letters,
                self._health.consumers,
            )

    async def _refresh_health_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.health_refresh_seconds)
            await self.refresh_health()

    async def status(self) -> StatusReply:
        health = self._health
        return StatusReply(
            service=self.service,
            version=self.settings.service_version,
            instance=self.instance,
            started_at=self.started_at,
            uptime_seconds=round(time.monotonic() - self._started_monotonic, 3),
            database=health.database,
            outbox_pending=health.outbox_pending,
            dead_letters=health.dead_letters,
            consumers=health.consumers,
        )

    async def _status(self, request: StatusRequest, _uow: None) -> StatusReply:
        return await self.status()

    async def _consumer_lag(self) -> list[StreamLag]:
        lags: list[StreamLag] = []
        js = self.jetstream()
        for handlers in self.handlers:
            for item in handlers.declared:
                stream = item.route.stream
                if item.mode in ("respond", "broadcast") or stream is None:
                    continue
                durable = durable_name(self.service, item.route)
                try:
                    info = await js.consumer_info(stream.name, durable, timeout=1.0)
                except Exception:
                    continue
                lags.append(
                    StreamLag(
                        stream=stream.name,
                        consumer=durable,
                        pending=info.num_pending or 0,
                        ack_pending=info.num_ack_pending or 0,
                        redelivered=info.num_redelivered or 0,
                    )
                )
        return lags

    def ops_routes(self) -> list[tuple[str, Any]]:
        @get(include_in_schema=False)
        async def healthz(scope: Any) -> AsgiResponse:
            return AsgiResponse(b'{"status":"ok"}', 200, headers={"content-type": "application/json"})

        @get(include_in_schema=False)
        async def readyz(scope: Any) -> AsgiResponse:
            checks = await self.ready()
            ok = all(v == "up" for v in checks.values())
            body = ",".join(f'"{k}":"{v}"' for k, v in checks.items())
            return AsgiResponse(
                f'{{"status":"{"ok" if ok else "unavailable"}",{body}}}'.encode(),
                200 if ok else 503,
                headers={"content-type": "application/json"},
            )

        @get(include_in_schema=False)
        async def metrics(scope: Any) -> AsgiResponse:
            return AsgiResponse(
                generate_latest(self.telemetry.registry), 200, headers={"content-type": CONTENT_TYPE_LATEST}
            )

        return [("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics)]

    def specification(self) -> AsyncAPI:
        return AsyncAPI(
            self.broker,
            title=f"Trade Tracker {self.service}",
            version=self.settings.service_version,
            description=f"Subjects the {self.service} service consumes and answers",
        )

    def ops_app(self) -> AsgiFastStream:
        """The process of a worker service: broker + relay + ops endpoints, run by uvicorn."""
        return AsgiFastStream(
            self.broker,
            asgi_routes=self.ops_routes(),
            specification=self.specification(),
            asyncapi_path="/docs/asyncapi",
            after_startup=[self.after_startup],
            on_shutdown=[self.on_shutdown],
            logger=None,
        )


def serve(app: Any, settings: RuntimeSettings) -> None:
    """Run an ASGI app with uvicorn on the service's host and port (the ``__main__`` of a service)."""
    import uvicorn

    uvicorn.run(
        app,
        host=settings.service_host,
        port=settings.service_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
