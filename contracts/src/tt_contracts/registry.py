"""The registry: every subject of the platform, who produces it, who consumes it, and its model.

Each domain module declares its own routes (at its bottom, with ``evt``/``cmd``/``req``); this module
collects them into one table and exposes each route by name (``registry.USER_REGISTERED``). The
generated table in docs/architecture.md is the readable map of who says what; tests check that
every subscriber and publisher in the code is listed here, and stream provisioning and schema
generation read it.
"""

from __future__ import annotations

from types import ModuleType

from . import ai_analysis, billing, broker, chart_render, gateway, identity, market_data, strategy
from .common import StatusReply, StatusRequest
from .routing import Route
from .subjects import SERVICES, status_subject

DOMAIN_MODULES: tuple[ModuleType, ...] = (
    identity,
    broker,
    market_data,
    chart_render,
    ai_analysis,
    strategy,
    billing,
    gateway,
)

STATUS: dict[str, Route] = {
    svc: Route(
        status_subject(svc),
        StatusRequest,
        ("gateway",),
        (svc,),
        reply=StatusReply,
        summary="Version, uptime, database and stream lag",
    )
    for svc in SERVICES
}


def _named_routes() -> dict[str, Route]:
    named: dict[str, Route] = {}
    for module in DOMAIN_MODULES:
        for name, value in vars(module).items():
            if isinstance(value, Route) and name.isupper():
                if name in named:
                    raise ValueError(f"route name {name} is declared twice")
                if value.subject.domain != module.__name__.rsplit(".", 1)[-1].replace("_", "-"):
                    raise ValueError(f"{name} belongs to {value.subject.domain}, not {module.__name__}")
                named[name] = value
    return named


_NAMED = _named_routes()
globals().update(_NAMED)

ROUTES: tuple[Route, ...] = tuple(STATUS.values()) + tuple(_NAMED[name] for name in sorted(_NAMED))
ROUTES_BY_BASE: dict[str, Route] = {r.subject.base: r for r in ROUTES}


def __getattr__(name: str) -> Route:  # for type checkers and a clear error on a typo
    raise AttributeError(f"no route named {name!r} in the registry")


def route_for(subject: str) -> Route:
    """The route of a concrete subject (keys included) or of a base subject."""
    for route in ROUTES:
        if route.subject.base == subject or route.subject.matches(subject):
            return route
    raise KeyError(f"subject {subject!r} is not in the registry")


def produced_by(service: str) -> tuple[Route, ...]:
    return tuple(r for r in ROUTES if service in r.producers)


def consumed_by(service: str) -> tuple[Route, ...]:
    return tuple(r for r in ROUTES if service in r.consumers)
