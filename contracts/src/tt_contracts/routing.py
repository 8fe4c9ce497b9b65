"""A route: one subject, its model, who produces it and who consumes it. Domain modules declare
their routes with ``evt``/``cmd``/``req``; ``tt_contracts.registry`` collects them into one table."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from ._base import Message
from .streams import StreamSpec, stream_for
from .subjects import Subject


@dataclass(frozen=True)
class Route:
    subject: Subject
    model: type[Message]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    reply: type[BaseModel] | None = None
    summary: str = ""

    @property
    def stream(self) -> StreamSpec | None:
        return None if self.subject.kind == "req" else stream_for(self.subject.pattern)

    @property
    def owner(self) -> str:
        return self.subject.domain


def evt(domain: str, aggregate: str, name: str, model, consumers=(), keys=(), summary="", version=1) -> Route:
    """A fact the domain publishes (only the owner produces it)."""
    return Route(
        Subject(domain, "evt", aggregate, name, version, tuple(keys)),
        model,
        (domain,),
        tuple(consumers),
        summary=summary,
    )


def cmd(domain: str, aggregate: str, name: str, model, producers, summary="", version=1) -> Route:
    """An intent the domain handles (only the owner consumes it)."""
    return Route(
        Subject(domain, "cmd", aggregate, name, version), model, tuple(producers), (domain,), summary=summary
    )


def req(domain: str, aggregate: str, name: str, model, reply, callers, summary="", version=1) -> Route:
    """A request the domain answers."""
    return Route(
        Subject(domain, "req", aggregate, name, version),
        model,
        tuple(callers),
        (domain,),
        reply=reply,
        summary=summary,
    )
