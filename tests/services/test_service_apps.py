"""Every service boots with its real app factory, serves its ops endpoints and answers status over
the bus; the gateway aggregates them and reports a silent service as down, not as an error."""

import importlib
from contextlib import AsyncExitStack

import httpx
import pytest

from tt_contracts import SERVICES
from tt_runtime.testing import free_port, service_settings, serving

WORKERS = [s for s in SERVICES if s != "gateway"]


def _factory(service: str):
    module = "tt_" + service.replace("-", "_")
    app = importlib.import_module(f"{module}.app")
    settings = importlib.import_module(f"{module}.settings")
    return app.create_app, settings.Settings


def _app(service, nats_url, database_url, **overrides):
    create_app, settings_cls = _factory(service)
    return create_app(service_settings(service, nats_url, database_url, cls=settings_cls, **overrides))


@pytest.mark.parametrize("service", WORKERS)
async def test_worker_ops_endpoints(service, nats_url, database_url, jetstream):
    async with (
        serving(_app(service, nats_url, database_url), free_port()) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ok", "nats": "up", "database": "up"}
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200 and "tt_relay_published" in metrics.text
        asyncapi = await http.get("/docs/asyncapi")
        assert asyncapi.status_code == 200 and f"{service}.req.status.get.v1" in asyncapi.text


async def test_readiness_fails_when_the_database_is_unreachable(nats_url, jetstream):
    dead_db = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    async with (
        serving(_app("billing", nats_url, dead_db), free_port()) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        assert (await http.get("/healthz")).status_code == 200, "liveness does not depend on the database"
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "down"


async def test_gateway_aggregates_every_service(nats_url, database_url, jetstream):
    async with AsyncExitStack() as stack:
        workers = {}
        for service in WORKERS:
            workers[service] = await stack.enter_async_context(
                serving(_app(service, nats_url, database_url), free_port())
            )
        gateway_url = await stack.enter_async_context(
            serving(_app("gateway", nats_url, database_url, status_timeout_seconds=1.0), free_port())
        )
        async with httpx.AsyncClient(base_url=gateway_url) as http:
            body = (await http.get("/api/v1/system/status")).json()
            assert body["status"] == "ok"
            states = {s["service"]: s for s in body["services"]}
            assert set(states) == set(SERVICES)
            for service, state in states.items():
                assert state["state"] == "up", state
                assert state["detail"]["service"] == service and state["detail"]["database"] == "up"
                assert state["detail"]["uptime_seconds"] >= 0
            page = await http.get("/")
            assert page.status_code == 200 and "market-data" in page.text


async def test_gateway_reports_a_silent_service_as_down(nats_url, database_url, jetstream):
    running = [s for s in WORKERS if s not in ("billing", "strategy")]
    async with AsyncExitStack() as stack:
        for service in running:
            await stack.enter_async_context(serving(_app(service, nats_url, database_url), free_port()))
        gateway_url = await stack.enter_async_context(
            serving(_app("gateway", nats_url, database_url, status_timeout_seconds=0.5), free_port())
        )
        async with httpx.AsyncClient(base_url=gateway_url) as http:
            response = await http.get("/api/v1/system/status")
    assert response.status_code == 200
    body = response.json()
    states = {s["service"]: s["state"] for s in body["services"]}
    assert body["status"] == "degraded"
    assert states["billing"] == states["strategy"] == "down"
    assert all(states[s] == "up" for s in [*running, "gateway"])


async def test_api_errors_have_one_shape(nats_url, database_url, jetstream):
    async with (
        serving(_app("gateway", nats_url, database_url), free_port()) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        missing = await http.get("/api/v1/nothing-here")
        openapi = await http.get("/api/v1/openapi.json")
    assert missing.status_code == 404 and missing.json() == {
        "error": {"code": "not_found", "message": "Not Found"}
    }
    assert "/api/v1/system/status" in openapi.json()["paths"]


async def test_gateway_ops_port_keeps_metrics_off_the_public_port(nats_url, database_url, jetstream):
    ops_port = free_port()
    app = _app("gateway", nats_url, database_url, ops_port=ops_port)
    async with (
        serving(app, free_port()) as url,
        httpx.AsyncClient(base_url=url) as public,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{ops_port}") as ops,
    ):
        assert (await public.get("/metrics")).status_code == 404
        assert (await public.get("/healthz")).status_code == 404
        assert (await ops.get("/healthz")).json() == {"status": "ok"}
        assert (await ops.get("/readyz")).json()["status"] == "ok"
        metrics = await ops.get("/metrics")
        assert metrics.status_code == 200 and "tt_relay_published" in metrics.text
        assert (await ops.get("/dashboard")).status_code == 404, "the ops port serves nothing else"
