"""JetStream stream layout as plain data (no NATS import). Provisioned by ``tt_runtime.streams``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .subjects import SERVICES

DAY = 24 * 3600


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    owner: str
    retention: Literal["limits", "workqueue", "interest"] = "limits"
    storage: Literal["file", "memory"] = "file"
    max_age_seconds: float = 30 * DAY
    duplicate_window_seconds: float = 15 * 60
    max_msgs_per_subject: int = -1
    discard: Literal["old", "new"] = "old"
    description: str = ""


def _prefix(service: str) -> str:
    return service.upper().replace("-", "_")


def event_stream(service: str, subjects: tuple[str, ...] | None = None, max_days: int = 30) -> StreamSpec:
    return StreamSpec(
        name=f"{_prefix(service)}_EVT",
        subjects=subjects or (f"{service}.evt.>",),
        owner=service,
        max_age_seconds=max_days * DAY,
        description=f"Facts published by {service}; replayable",
    )


def command_stream(service: str, max_age_seconds: float = 15 * 60) -> StreamSpec:
    return StreamSpec(
        name=f"{_prefix(service)}_CMD",
        subjects=(f"{service}.cmd.>",),
        owner=service,
        retention="workqueue",
        max_age_seconds=max_age_seconds,
        duplicate_window_seconds=min(max_age_seconds, 15 * 60),
        description=f"Intents handled by {service}; removed once acknowledged",
    )


MARKET_DATA_QUOTES = StreamSpec(
    name="MARKET_DATA_QUOTES",
    subjects=("market-data.evt.quote.>",),
    owner="market-data",
    storage="memory",
    max_age_seconds=DAY,
    duplicate_window_seconds=60,
    max_msgs_per_subject=1,
    description="Last-value cache of live quotes, one message per instrument",
)

# market-data's own event stream must not overlap the quote stream, so it names its aggregates.
MARKET_DATA_EVT = event_stream(
    "market-data",
    subjects=("market-data.evt.candle.>", "market-data.evt.instrument.>", "market-data.evt.upload.>"),
)


def _streams() -> tuple[StreamSpec, ...]:
    specs: list[StreamSpec] = []
    for service in SERVICES:
        specs.append(MARKET_DATA_EVT if service == "market-data" else event_stream(service))
        # A stale order must never execute late: broker commands live a minute at most.
        specs.append(command_stream(service, max_age_seconds=60 if service == "broker" else 15 * 60))
    specs.append(MARKET_DATA_QUOTES)
    return tuple(specs)


STREAMS: tuple[StreamSpec, ...] = _streams()
STREAMS_BY_NAME: dict[str, StreamSpec] = {s.name: s for s in STREAMS}


def _covers(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)


def stream_for(subject: str) -> StreamSpec | None:
    """The stream that stores a concrete (or pattern) subject, if any."""
    found = [s for s in STREAMS if any(_covers(p, subject) for p in s.subjects)]
    if len(found) > 1:
        raise ValueError(f"subject {subject} is captured by several streams: {[s.name for s in found]}")
    return found[0] if found else None
