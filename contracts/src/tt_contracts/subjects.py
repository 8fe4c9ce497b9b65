"""Subject grammar as code: ``<domain>.<kind>.<aggregate>.<name>.v<major>[.<key>…]``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SERVICES: tuple[str, ...] = (
    "gateway",
    "identity",
    "broker",
    "market-data",
    "chart-render",
    "ai-analysis",
    "strategy",
    "billing",
)

Kind = Literal["evt", "cmd", "req"]
_TOKEN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_KEY_VALUE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SubjectError(ValueError):
    pass


@dataclass(frozen=True)
class Subject:
    domain: str
    kind: Kind
    aggregate: str
    name: str
    version: int = 1
    keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.domain not in SERVICES:
            raise SubjectError(f"unknown domain {self.domain!r}")
        if self.kind not in ("evt", "cmd", "req"):
            raise SubjectError(f"unknown kind {self.kind!r}")
        for token in (self.aggregate, self.name, *self.keys):
            if not _TOKEN.match(token):
                raise SubjectError(f"bad subject token {token!r}: lowercase words joined by '-'")
        if self.version < 1:
            raise SubjectError("versions start at 1")
        if self.keys and self.kind == "req":
            raise SubjectError("request subjects carry no keys; put parameters in the body")

    @property
    def base(self) -> str:
        """The subject without keys, e.g. ``market-data.evt.candle.closed.v1``."""
        return f"{self.domain}.{self.kind}.{self.aggregate}.{self.name}.v{self.version}"

    @property
    def pattern(self) -> str:
        """Subscription pattern matching every key combination (``*`` per key)."""
        return ".".join([self.base, *("*" for _ in self.keys)])

    def render(self, **values: str) -> str:
        """The concrete subject to publish on. Every key must be given, and nothing else."""
        if set(values) != set(self.keys):
            raise SubjectError(f"{self.base} needs keys {self.keys}, got {sorted(values)}")
        parts = [self.base]
        for key in self.keys:
            value = str(values[key])
            if not _KEY_VALUE.match(value):
                raise SubjectError(f"bad value {value!r} for subject key {key!r}")
            parts.append(value)
        return ".".join(parts)

    def matches(self, subject: str) -> bool:
        parts = subject.split(".")
        base = self.base.split(".")
        return len(parts) == len(base) + len(self.keys) and parts[: len(base)] == base

    def __str__(self) -> str:
        return self.pattern


def status_subject(service: str) -> Subject:
    """Every service answers ``<svc>.req.status.get.v1``."""
    return Subject(service, "req", "status", "get")
