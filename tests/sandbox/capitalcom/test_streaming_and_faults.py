"""The WebSocket stream over a real socket, and the fault controls."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import pytest
import websockets

from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig

NO_LIMITS = RateLimits(None, None, None, None, None, None)


async def _login(client: httpx.AsyncClient, creds) -> dict[str, str]:
    response = await client.post(
        "/session",
        headers={"X-CAP-API-KEY": creds.api_key},
        json={"identifier": creds.identifier, "password": creds.password},
    )
    return {"CST": response.headers["CST"], "X-SECURITY-TOKEN": response.headers["X-SECURITY-TOKEN"]}


async def _until(ws, predicate, limit: int = 2000) -> dict:
    for _ in range(limit):
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if predicate(frame):
            return frame
    raise AssertionError("frame never arrived")


@pytest.fixture
async def served():
    sim = Simulator(SimulatorConfig(clock="stepped", rate_limits=NO_LIMITS, ws_ping_timeout=600))
    creds = sim.create_account()
    async with sim.serve() as urls, httpx.AsyncClient(base_url=urls.rest) as client:
        yield sim, urls, client, await _login(client, creds)


async def test_stream_quotes_and_ohlc_bars_match_rest_history(served):
    sim, urls, client, tokens = served
    envelope = {"cst": tokens["CST"], "securityToken": tokens["X-SECURITY-TOKEN"]}
    async with websockets.connect(urls.ws) as ws:
        await ws.send(json.dumps({"destination": "ping", "correlationId": 1, **envelope}))
        assert json.loads(await ws.recv()) == {
            "status": "OK",
            "destination": "ping",
            "correlationId": "1",
            "payload": {},
        }
        await ws.send(
            json.dumps(
                {
                    "destination": "marketData.subscribe",
                    "correlationId": "2",
                    **envelope,
                    "payload": {"epics": ["BTCUSD"]},
                }
            )
        )
        ack = json.loads(await ws.recv())
        assert ack["payload"] == {"subscriptions": {"BTCUSD": "PROCESSED"}}
        await ws.send(
            json.dumps(
                {
                    "destination": "OHLCMarketData.subscribe",
                    "correlationId": "3",
                    **envelope,
                    "payload": {"epics": ["BTCUSD"], "resolutions": ["MINUTE"]},
                }
            )
        )
        ack = await _until(ws, lambda f: f.get("correlationId") == "3")
        assert ack["payload"] == {"subscriptions": {"BTCUSD:MINUTE:classic": "PROCESSED"}}

        sim.clock.advance(61)
        quote = await _until(ws, lambda f: f["destination"] == "quote")
        assert set(quote["payload"]) == {"epic", "product", "bid", "bidQty", "ofr", "ofrQty", "timestamp"}
        bars = {}
        while len(bars) < 2:
            frame = await _until(ws, lambda f: f["destination"] == "ohlc.event")
            bars[frame["payload"]["priceType"]] = frame["payload"]
        assert bars["bid"]["t"] == int(datetime(2024, 3, 4, 12, 0, tzinfo=UTC).timestamp() * 1000)

    history = (
        await client.get(
            "/prices/BTCUSD",
            headers=tokens,
            params={"resolution": "MINUTE", "from": "2024-03-04T12:00:00", "max": 1},
        )
    ).json()
    bar = history["prices"][0]
    for side in ("bid", "ask"):
        streamed = bars[side]
        assert (streamed["o"], streamed["h"], streamed["l"], streamed["c"]) == (
            bar["openPrice"][side],
            bar["highPrice"][side],
            bar["lowPrice"][side],
            bar["closePrice"][side],
        )


async def test_stream_errors_and_limits(served):
    _sim, urls, _client, tokens = served
    envelope = {"cst": tokens["CST"], "securityToken": tokens["X-SECURITY-TOKEN"]}
    async with websockets.connect(urls.ws.replace("/connect", "//connect")) as ws:
        await ws.send(
            json.dumps({"destination": "ping", "correlationId": "1", "cst": "bad", "securityToken": "bad"})
        )
        error = json.loads(await ws.recv())
        assert error["status"] == "ERROR" and error["payload"]["errorCode"] == "error.invalid.session.token"
        assert error["errorCode"] == "error.invalid.session.token"
        epics = [f"E{i}" for i in range(41)]
        await ws.send(
            json.dumps(
                {
                    "destination": "marketData.subscribe",
                    "correlationId": "2",
                    **envelope,
                    "payload": {"epics": epics},
                }
            )
        )
        assert json.loads(await ws.recv())["status"] == "ERROR"
        await ws.send(
            json.dumps(
                {
                    "destination": "marketData.subscribe",
                    "correlationId": "3",
                    **envelope,
                    "payload": {"epics": ["NOPE"]},
                }
            )
        )
        assert json.loads(await ws.recv())["payload"]["errorCode"] == "error.invalid.epic"


async def test_stream_is_dropped_without_ping_and_by_the_fault_switch(served):
    sim, urls, _client, _tokens = served
    async with websockets.connect(urls.ws) as ws:
        sim.clock.advance(601)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    async with websockets.connect(urls.ws) as ws:
        await asyncio.sleep(0.05)
        assert sim.faults.drop_websockets() == 1
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)


async def test_execute_then_timeout_applies_the_deal_but_loses_the_reply(served):
    sim, _urls, client, tokens = served
    sim.faults.set(execute_then_timeout=1, timeout_mode="drop")
    with pytest.raises(httpx.TransportError):
        await client.post("/positions", headers=tokens, json={"epic": "GOLD", "direction": "BUY", "size": 1})
    positions = (await client.get("/positions", headers=tokens)).json()["positions"]
    assert len(positions) == 1  # the order filled although the client never heard back

    sim.faults.set(execute_then_timeout=1, timeout_mode="delay", timeout_delay=2)
    with pytest.raises(httpx.ReadTimeout):
        await client.post(
            "/positions", headers=tokens, json={"epic": "GOLD", "direction": "BUY", "size": 1}, timeout=0.3
        )
    assert len((await client.get("/positions", headers=tokens)).json()["positions"]) == 2


async def test_http_faults_through_the_admin_endpoint(served):
    _sim, urls, client, tokens = served
    admin = urls.base + "/_admin"
    settings = (await client.post(f"{admin}/faults", json={"fail_next": 1, "fail_status": 503})).json()
    assert settings["fail_next"] == 1
    failed = await client.get("/ping", headers=tokens)
    assert (failed.status_code, failed.json()) == (503, {"errorCode": "error.service.unavailable"})
    assert (await client.get("/ping", headers=tokens)).status_code == 200

    await client.post(f"{admin}/faults/reject-deals", json={"count": 1, "reason": "RISK_CHECK"})
    reference = (
        await client.post("/positions", headers=tokens, json={"epic": "GOLD", "direction": "BUY", "size": 1})
    ).json()["dealReference"]
    confirm = (await client.get(f"/confirms/{reference}", headers=tokens)).json()
    assert (confirm["dealStatus"], confirm["rejectReason"]) == ("REJECTED", "RISK_CHECK")

    await client.post(f"{admin}/faults", json={"confirm_delay": 30})
    reference = (
        await client.post("/positions", headers=tokens, json={"epic": "GOLD", "direction": "BUY", "size": 1})
    ).json()["dealReference"]
    assert (await client.get(f"/confirms/{reference}", headers=tokens)).status_code == 404
    await client.delete(f"{admin}/faults")
    assert (await client.get(f"/confirms/{reference}", headers=tokens)).status_code == 200

    assert (await client.post(f"{admin}/faults/invalidate-sessions", json={})).json()["invalidated"] >= 1
    gone = await client.get("/ping", headers=tokens)
    assert (gone.status_code, gone.json()) == (401, {"errorCode": "error.invalid.session.token"})


async def test_admin_creates_isolated_accounts_and_steps_the_clock(served):
    _sim, urls, client, _tokens = served
    created = (
        await client.post(urls.base + "/_admin/accounts", json={"currency": "GBP", "balance": "500"})
    ).json()
    login = await client.post(
        "/session",
        headers={"X-CAP-API-KEY": created["apiKey"]},
        json={"identifier": created["identifier"], "password": created["password"]},
    )
    assert login.json()["currencyIsoCode"] == "GBP" and login.json()["accountInfo"]["balance"] == 500.0
    stepped = (await client.post(urls.base + "/_admin/clock/advance", json={"seconds": 90})).json()
    assert stepped["now"] == "2024-03-04T12:01:30.000"


def test_accelerated_clock_runs_faster_than_wall_time():
    sim = Simulator(SimulatorConfig(clock="accelerated", speed=3600, start=datetime(2024, 3, 4, tzinfo=UTC)))
    first = sim.clock.now()
    import time

    time.sleep(0.05)
    assert (sim.clock.now() - first).total_seconds() >= 60
    with pytest.raises(TypeError):
        sim.clock.advance(1)
