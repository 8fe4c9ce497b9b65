"""The registry is the map of who says what: it must be complete, consistent and unambiguous."""

import importlib
import pkgutil

import pytest

import tt_contracts
from tt_contracts import ROUTES, SERVICES, STREAMS, Command, Event, Request, Subject, route_for, stream_for
from tt_contracts.registry import STATUS
from tt_contracts.streams import STREAMS_BY_NAME
from tt_contracts.subjects import SubjectError


def test_subjects_are_unique():
    bases = [r.subject.base for r in ROUTES]
    assert len(bases) == len(set(bases))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.subject.base)
def test_route_is_consistent(route):
    kind = route.subject.kind
    base = {"evt": Event, "cmd": Command, "req": Request}[kind]
    assert issubclass(route.model, base), f"{route.model.__name__} on a {kind} subject"
    assert set(route.producers) <= set(SERVICES) and set(route.consumers) <= set(SERVICES)
    assert route.producers and route.consumers
    if kind == "evt":
        assert route.producers == (route.owner,), "only the owner publishes its facts"
    if kind == "cmd":
        assert route.consumers == (route.owner,), "only the owner handles its commands"
        assert route.stream is not None and route.stream.retention == "workqueue"
    if kind == "req":
        assert route.stream is None and route.reply is not None
    else:
        assert route.stream is not None and route.stream.owner == route.owner


def test_every_service_answers_status():
    assert set(STATUS) == set(SERVICES)


def test_stream_subjects_do_not_overlap():
    for route in ROUTES:
        if route.subject.kind != "req":
            stream_for(route.subject.pattern)  # raises when two streams capture one subject


def test_broker_commands_expire_quickly():
    assert STREAMS_BY_NAME["BROKER_CMD"].max_age_seconds <= 60
    assert STREAMS_BY_NAME["MARKET_DATA_QUOTES"].max_msgs_per_subject == 1
    assert all(s.duplicate_window_seconds > 0 for s in STREAMS)


def test_subject_grammar():
    candle = route_for("market-data.evt.candle.closed.v1.capitalcom.EURUSD.1h")
    assert candle.subject.render(venue="capitalcom", symbol="EURUSD", timeframe="1h") == (
        "market-data.evt.candle.closed.v1.capitalcom.EURUSD.1h"
    )
    assert candle.subject.pattern == "market-data.evt.candle.closed.v1.*.*.*"
    with pytest.raises(SubjectError):
        candle.subject.render(venue="capitalcom", symbol="EUR.USD", timeframe="1h")
    with pytest.raises(SubjectError):
        candle.subject.render(venue="capitalcom")
    with pytest.raises(SubjectError):
        Subject("nowhere", "evt", "a", "b")
    with pytest.raises(SubjectError):
        Subject("billing", "evt", "Hold", "created")
    with pytest.raises(KeyError):
        route_for("billing.evt.hold.vanished.v1")


def test_every_message_model_is_routed():
    """A message class that no route carries is dead vocabulary."""
    routed = {r.model for r in ROUTES} | {r.reply for r in ROUTES if r.reply}
    bases = {Event, Command, Request}
    for module_info in pkgutil.iter_modules(tt_contracts.__path__):
        module = importlib.import_module(f"tt_contracts.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and any(issubclass(value, b) for b in bases)
                and value not in bases
            ):
                assert value in routed, f"{value.__name__} is on no subject"


def test_every_declared_subscription_is_registered_for_its_service():
    """Every service's handlers module declares only routes the registry gives that service."""
    from tt_contracts import ROUTES as ALL

    for service in SERVICES:
        module = importlib.import_module(f"tt_{service.replace('-', '_')}.handlers")
        # A service that binds its handlers to an instance declares them in build_handlers(instance).
        handlers = module.handlers if hasattr(module, "handlers") else module.build_handlers(None)
        assert handlers.service == service
        for item in handlers.declared:
            assert item.route in ALL and service in item.route.consumers, (service, item.route.subject.base)


def test_declaring_an_unregistered_subscription_is_refused():
    from tt_contracts import registry
    from tt_runtime.bus import Handlers

    with pytest.raises(ValueError, match="not a registered consumer"):
        Handlers("identity").consume(registry.HOLD_CREATE)
    with pytest.raises(ValueError, match="not a request subject"):
        Handlers("billing").respond(registry.HOLD_CREATE)


def test_no_event_or_command_carries_a_secret():
    """Events and commands are stored in streams (and dead letters); only requests to the secret's
    owner may carry one."""
    from pydantic import SecretStr

    def secret_fields(model, seen=()):
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if annotation is SecretStr or "SecretStr" in repr(annotation):
                yield f"{model.__name__}.{name}"
            for arg in getattr(annotation, "__args__", ()) or (annotation,):
                if isinstance(arg, type) and hasattr(arg, "model_fields") and arg not in seen:
                    yield from secret_fields(arg, (*seen, model))

    for route in ROUTES:
        if route.subject.kind in ("evt", "cmd"):
            assert not list(secret_fields(route.model)), route.subject.base
