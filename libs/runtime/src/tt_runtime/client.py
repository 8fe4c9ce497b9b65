"""Asking other services over core request-reply, with the contract's reply model."""

from __future__ import annotations

import json
from typing import TypeVar

from faststream.nats import NatsBroker
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from tt_contracts import ErrorDetail, Reply, Request, Route

from .errors import TradeTrackerError, TransientError

R = TypeVar("R", bound=Reply)


class RemoteError(TradeTrackerError):
    """The other service answered with an ``ErrorReply``."""

    def __init__(self, route: Route, detail: ErrorDetail) -> None:
        super().__init__(f"{route.subject.base}: {detail.code}: {detail.message}")
        self.code = detail.code
        self.detail = detail


class ServiceUnavailable(TransientError):
    code = "unavailable"


async def ask(broker: NatsBroker, route: Route, request: Request, *, timeout: float = 3.0) -> Reply:
    """Send ``request`` on ``route`` and return the route's reply model, or raise."""
    if route.subject.kind != "req" or route.reply is None:
        raise ValueError(f"{route.subject.base} is not a request route")
    if not isinstance(request, route.model):
        raise TypeError(f"{route.subject.base} takes {route.model.__name__}")
    try:
        response = await broker.request(
            request.model_dump_json().encode(),
            route.subject.base,
            timeout=timeout,
            headers={"content-type": "application/json"},
        )
    except (TimeoutError, NatsTimeoutError, NoRespondersError) as exc:
        raise ServiceUnavailable(f"{route.owner} did not answer {route.subject.base}") from exc
    body = json.loads(response.body or b"null")
    if isinstance(body, dict) and "error" in body and isinstance(body["error"], dict):
        raise RemoteError(route, ErrorDetail.model_validate(body["error"]))
    return route.reply.model_validate(body)
