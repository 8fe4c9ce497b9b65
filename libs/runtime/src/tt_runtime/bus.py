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

import structlog
from faststream import AckPolicy, Context
from faststream.exceptions import NackMessage
from faststream.nats import JStream, NatsBroker, NatsRouter, PullSub
from faststream.nats.message import NatsBatchMessage
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.js.api import ConsumerConfig, DeliverPolicy

from tt_contracts import Message, Reply, Route

from .db import UnitOfWork
from .policy import ErrorPolicy
from .settings import RuntimeSettings
from .telemetry import Telemetry

log = structlog.get_logger(__name__)


def build_broker(settings: RuntimeSettings, policy: ErrorPolicy, telemetry: Telemetry) -> NatsBroker:
    return NatsBroker(
        settings.nats_url,
        name=f"{settings.service_name}",
        # A safety net only: the error policy middleware decides first, and never terminates silently.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        middlewares=[
            NatsTelemetryMiddleware(
                tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
            ),
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
    mode: Literal["consume", "respond", "stateless", "broadcast"]
    batch_size: int = 16
    batch: bool = False
    max_wait: float = 0.2
    transactional: bool = True


@dataclass
class Handlers:
    """The subscriptions of one service, declared at import time and bound by ``ServiceRuntime``."""

    service: str
    declared: list[Declared] = field(default_factory=list)

    def _check(self, route: Route) -> None:
        if self.service not in route.consumers:
            raise ValueError(f"{self.service} is not a registered consumer of {route.subject.base}")

    def consume(
        self, route: Route, *, batch_size: int = 16, batch: bool = False, max_wait: float = 0.2
    ) -> Callable[[EventHandler], EventHandler]:
        """Idempotent consumer: inbox row + effect + outbox in one transaction.

        With ``batch=True`` one transaction covers every message of a fetched batch (for high-volume
        subjects); if that transaction fails, each message is retried alone so one bad message cannot
        hold back the others and the error policy applies to it individually.
        """
        self._check(route)

        def register(func: EventHandler) -> EventHandler:
            self.declared.append(Declared(route, func, "consume", batch_size, batch, max_wait))
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

    def broadcast(self, route: Route) -> Callable[[Callable], Callable]:
        """Every replica sees every event published from now on, at most once, with no transaction.

        For live views only (a page that loaded its state by a query and then follows changes): a core
        NATS subscription on the route's subject, so nothing is stored, acknowledged or redelivered,
        and a replica that was down simply missed the events. Never use it for state changes."""
        self._check(route)
        if route.subject.kind != "evt":
            raise ValueError(f"{route.subject.base} is not an event subject")

        def register(func: Callable) -> Callable:
            self.declared.append(Declared(route, func, "broadcast"))
            return func

        return register

    def respond(
        self, route: Route, *, transactional: bool = True
    ) -> Callable[[RequestHandler], RequestHandler]:
        """Answer a request. ``transactional=False`` handlers get no unit of work (``None``)."""
        self._check(route)
        if route.subject.kind != "req":
            raise ValueError(f"{route.subject.base} is not a request subject")

        def register(func: RequestHandler) -> RequestHandler:
            self.declared.append(Declared(route, func, "respond", transactional=transactional))
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
    policy: ErrorPolicy,
) -> NatsRouter:
    router = NatsRouter()
    for item in handlers.declared:
        route, func = item.route, item.func
        if item.mode == "respond":
            router.subscriber(route.subject.base, queue=handlers.service, title=route.subject.base)(
                _typed(
                    _responder(func, uow_factory if item.transactional else None), route.model, route.reply
                )
            )
            continue
        if item.mode == "broadcast":
            router.subscriber(
                route.subject.pattern,
                # A JetStream publish carries a reply subject for its PubAck: a core subscriber that
                # answered it would hand the publisher a bogus acknowledgement.
                no_reply=True,
                title=f"{handlers.service}:live:{route.subject.base}",
            )(_typed(_broadcast(func), route.model, None))
            continue
        stream = route.stream
        assert stream is not None, route.subject.base
        durable = durable_name(handlers.service, route)
        if item.batch:
            wrapper = _batch_consumer(func, uow_factory, durable, route.model, policy)
        elif item.mode == "consume":
            wrapper = _consumer(func, uow_factory, durable)
        else:
            wrapper = _stateless(func)
        router.subscriber(
            route.subject.pattern,
            stream=JStream(name=stream.name, declare=False),
            durable=durable,
            pull_sub=PullSub(item.batch_size, timeout=item.max_wait if item.batch else 1.0, batch=item.batch),
            config=ConsumerConfig(
                durable_name=durable,
                ack_wait=settings.ack_wait_seconds,
                # The policy dead-letters at settings.max_deliver; the server allows more deliveries so
                # that a dead letter which could not be written (database down) is tried again later.
                max_deliver=settings.max_deliver + settings.dead_letter_retries,
                max_ack_pending=settings.max_ack_pending,
                deliver_policy=DeliverPolicy.ALL,
            ),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=durable,
        )(wrapper if item.batch else _typed(wrapper, route.model, None))
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


def _broadcast(func: Callable) -> Callable:
    async def follow(body: Message) -> None:
        try:
            await func(body)
        except Exception:  # a live view that fails to update must not disturb the subscription
            log.exception("broadcast handler failed", handler=func.__name__)

    follow.__name__ = func.__name__
    follow.__doc__ = func.__doc__
    return follow


def _responder(func: RequestHandler, uow_factory: Callable[[], UnitOfWork] | None) -> Callable:
    async def respond(body: Message) -> Reply:
        if uow_factory is None:
            return await func(body, None)
        async with uow_factory() as uow:
            return await func(body, uow)

    respond.__name__ = func.__name__
    respond.__doc__ = func.__doc__
    return respond


def _batch_consumer(
    func: EventHandler,
    uow_factory: Callable[[], UnitOfWork],
    durable: str,
    model: type[Message],
    policy: ErrorPolicy,
) -> Callable:
    async def consume_batch(body: list[Any], message: NatsBatchMessage = Context("message")) -> None:
        valid: list[tuple[Any, Message]] = []
        for raw in message.raw_message:
            try:
                valid.append((raw, model.model_validate_json(raw.data)))
            except Exception as exc:  # poisoned payload: dead-lettered alone, never blocks the batch
                await _settle(raw, await policy.fail(raw, exc))
        try:
            async with uow_factory() as uow:
                fresh = await uow.claim_many(durable, [event.message_id for _, event in valid])
                for _, event in valid:
                    if event.message_id in fresh:
                        await func(event, uow)
        except Exception as exc:
            if len(valid) == 1:  # nothing to isolate: the policy decides for this message
                await _settle(valid[0][0], await policy.fail(valid[0][0], exc))
                return
            # Retry each message alone (the failed transaction rolled back) to isolate the culprit.
            for raw, event in valid:
                try:
                    async with uow_factory() as uow:
                        if await uow.claim(durable, event.message_id):
                            await func(event, uow)
                except Exception as single_exc:
                    await _settle(raw, await policy.fail(raw, single_exc))
                else:
                    await raw.ack()
            return
        for raw, _ in valid:
            await raw.ack()

    consume_batch.__name__ = func.__name__
    consume_batch.__doc__ = func.__doc__
    return consume_batch


async def _settle(raw: Any, decision: Exception) -> None:
    """Apply the error policy's decision to one message of a batch."""
    if isinstance(decision, NackMessage):
        await raw.nak(delay=decision.extra_options.get("delay"))
    else:
        await raw.term()
