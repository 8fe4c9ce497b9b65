"""The engine is single-threaded: every route and dependency must run on the event loop, never in
FastAPI's thread pool, or a request would mutate the market while the pump or another request walks it
("dictionary changed size during iteration" under load)."""

import inspect

from fastapi.routing import APIRoute, APIWebSocketRoute

from tt_sandbox.capitalcom import Simulator, SimulatorConfig
from tt_sandbox.capitalcom.app import create_app


def _calls(dependant):
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _routes(routes):
    for route in routes:
        included = getattr(route, "original_router", None)  # an included router (newer FastAPI)
        yield from _routes(included.routes) if included is not None else [route]


def test_every_route_and_dependency_is_a_coroutine():
    app = create_app(Simulator(SimulatorConfig(seed=1, clock="stepped")))
    checked = 0
    for route in _routes(app.routes):
        if isinstance(route, APIRoute | APIWebSocketRoute):
            for call in _calls(route.dependant):
                if call is None or isinstance(call, type):
                    continue
                assert inspect.iscoroutinefunction(call), f"{route.path}: {call.__name__} runs in a thread"
                checked += 1
    assert checked > 40
