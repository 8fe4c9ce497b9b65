"""The broker factory and the handler registry services declare their subscriptions with.

Handlers are declared against contract routes, never subject strings::

    handlers = Handlers("billing")

    @handlers.consume(registry.USER_REGISTERED)
    async def on_user_registered(event: UserRegistered, uow: UnitOfWork) -> None:
        ...  # runs inside one transaction with the inbox row; a duplicate never gets here

    @handlers.respond(registry.BALANCE_GET)
    async def balance(request: GetBalance, uow: UnitOfWork) -> BalanceReply: ...

``ServiceRuntime.include(handlers)`` turns them into faststream subscribers bound to the service's
database, with durable pull consumers on the route's stream, the error policy, and inbox dedupe.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsRouter, PullSub
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.js.api import ConsumerConfig, DeliverPolicy

from tt_contracts import Message, Reply, Route

from .db import UnitOfWork
from .policy import ErrorPolicy
from .settings import RuntimeSettings
from .telemetry import Telemetry


def build_broker(settings: RuntimeSettings, policy: ErrorPolicy, telemetry: Telemetry) -> NatsBroker:
    return NatsBroker(
        settings.nats_url,
        name=f"{settings.service_name}",
        # A safety net only: the error policy middleware decides first, and never terminates silently.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        middlewares=[
            NatsTelemetryMiddleware(tracer_provider=telemetry.tracer_provider),
            NatsPrometheusMiddleware(registry=telemetry.registry, app_name=settings.service_name),
            policy.middleware(),
        ],
        logger=None,  # faststream's per-message INFO line costs ~40% throughput; structlog covers us
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
    )


def durable_name(service: str, route: Route) -> str:
    """``<consumer service>__<subject base>`` with dots made legal for a durable name."""
    return f"{service}__{route.subject.base.replace('.', '_')}"


EventHandler = Callable[[Any, UnitOfWork], Awaitable[None]]
RequestHandler = Callable[[Any, UnitOfWork], Awaitable[Reply]]


@dataclass
class Declared:
    route: Route
    func: Callable[..., Awaitable[Any]]
    mode: Literal["consume", "respond", "stateless"]
    batch_size: int = 16


@dataclass
class Handlers:
    """The subscriptions of one service, declared at import time and bound by ``ServiceRuntime``."""

    service: str
    declared: list[Declared] = field(default_factory=list)

    def _check(self, route: Route) -> None:
        if self.service not in route.consumers:
            raise ValueError(f"{self.service} is not a registered consumer of {route.subject.base}")

    def consume(self, route: Route, *, batch_size: int = 16) -> Callable[[EventHandler], EventHandler]:
        """Idempotent consumer: inbox row + effect + outbox in one transaction."""
        self._check(route)

        def register(func: EventHandler) -> EventHandler:
            self.declared.append(Declared(route, func, "consume", batch_size))
            return func

        return register

    def stateless(self, route: Route, *, batch_size: int = 16) -> Callable[[Callable], Callable]:
        """A step that changes no database state (e.g. a render); it may publish directly and is
        simply redone on redelivery."""
        self._check(route)

        def register(func: Callable) -> Callable:
            self.declared.append(Declared(route, func, "stateless", batch_size))
            return func

        return register

    def respond(self, route: Route) -> Callable[[RequestHandler], RequestHandler]:
        self._check(route)
        if route.subject.kind != "req":
            raise ValueError(f"{route.subject.base} is not a request subject")

        def register(func: RequestHandler) -> RequestHandler:
            self.declared.append(Declared(route, func, "respond"))
            return func

        return register


def _typed(func: Callable[..., Awaitable[Any]], model: type[Message], returns: Any) -> Callable:
    """Give a wrapper the signature faststream validates and documents: ``(body: Model) -> returns``."""
    func.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model)],
        return_annotation=returns,
    )
    func.__annotations__ = {"body": model, "return": returns}
    return func


def build_router(
    handlers: Handlers,
    *,
    settings: RuntimeSettings,
    uow_factory: Callable[[], UnitOfWork],
    extra: dict[str, Any] | None = None,
) -> NatsRouter:
    router = NatsRouter()
    for item in handlers.declared:
        route, func = item.route, item.func
        if item.mode == "respond":
            router.subscriber(route.subject.base, queue=handlers.service, title=route.subject.base)(
                _typed(_responder(func, uow_factory), route.model, route.reply)
            )
            continue
        stream = route.stream
        assert stream is not None, route.subject.base
        durable = durable_name(handlers.service, route)
        wrapper = _consumer(func, uow_factory, durable) if item.mode == "consume" else _stateless(func)
        router.subscriber(
            route.subject.pattern,
            stream=JStream(name=stream.name, declare=False),
            durable=durable,
            pull_sub=PullSub(batch_size=item.batch_size, timeout=1.0),
            config=ConsumerConfig(
                durable_name=durable,
                ack_wait=settings.ack_wait_seconds,
                max_deliver=settings.max_deliver,
                max_ack_pending=settings.max_ack_pending,
                deliver_policy=DeliverPolicy.ALL,
            ),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=durable,
        )(_typed(wrapper, route.model, None))
    return router


def _consumer(func: EventHandler, uow_factory: Callable[[], UnitOfWork], durable: str) -> Callable:
    async def consume(body: Message) -> None:
        async with uow_factory() as uow:
            if not await uow.claim(durable, body.message_id):
                return  # already applied by an earlier delivery: ack and skip
            await func(body, uow)

    consume.__name__ = func.__name__
    consume.__doc__ = func.__doc__
    return consume


def _stateless(func: Callable) -> Callable:
    async def handle(body: Message) -> None:
        await func(body)

    handle.__name__ = func.__name__
    handle.__doc__ = func.__doc__
    return handle


def _responder(func: RequestHandler, uow_factory: Callable[[], UnitOfWork]) -> Callable:
    async def respond(body: Message) -> Reply:
        async with uow_factory() as uow:
            return await func(body, uow)

    respond.__name__ = func.__name__
    respond.__doc__ = func.__doc__
    return respond
