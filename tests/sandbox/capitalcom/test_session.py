"""Login (plain and RSA-encrypted), tokens, idle expiry, account switch, logout, login rate limit."""

from __future__ import annotations

import base64
from decimal import Decimal

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding

from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig


def _encrypt(password: str, key_b64: str, timestamp: int, base64_first: bool = True) -> str:
    """The documented client recipe: RSA PKCS#1 v1.5 over base64("password|timeStamp")."""
    key = serialization.load_der_public_key(base64.b64decode(key_b64))
    plain = f"{password}|{timestamp}".encode()
    if base64_first:
        plain = base64.b64encode(plain)
    return base64.b64encode(key.encrypt(plain, padding.PKCS1v15())).decode()


async def test_plain_login_returns_tokens_as_headers_and_account_info(sim, http):
    creds = sim.create_account(currency="EUR", balance=Decimal("2500"))
    response = await http.post(
        "/api/v1/session",
        headers={"X-CAP-API-KEY": creds.api_key},
        json={"identifier": creds.identifier, "password": creds.password},
    )
    assert response.status_code == 200
    assert response.headers["CST"] and response.headers["X-SECURITY-TOKEN"]
    body = response.json()
    assert body["currentAccountId"] == creds.account_id
    assert body["currencyIsoCode"] == "EUR"
    assert body["accountInfo"]["balance"] == 2500.0
    assert body["streamingHost"].startswith("ws://")
    assert body["accounts"][0]["preferred"] is True


async def test_encrypted_login_with_and_without_the_base64_step(sim, http):
    creds = sim.create_account()
    key = (await http.get("/api/v1/session/encryptionKey", headers={"X-CAP-API-KEY": creds.api_key})).json()
    for base64_first in (True, False):
        cipher = _encrypt(creds.password, key["encryptionKey"], key["timeStamp"], base64_first)
        response = await http.post(
            "/api/v1/session",
            headers={"X-CAP-API-KEY": creds.api_key},
            json={"identifier": creds.identifier, "password": cipher, "encryptedPassword": "true"},
        )
        assert response.status_code == 200, response.text


async def test_login_errors_use_the_venue_codes(sim, http):
    creds = sim.create_account()
    no_key = await http.post(
        "/api/v1/session", json={"identifier": creds.identifier, "password": creds.password}
    )
    assert (no_key.status_code, no_key.json()) == (400, {"errorCode": "error.null.api.key"})
    wrong = await http.post(
        "/api/v1/session",
        headers={"X-CAP-API-KEY": creds.api_key},
        json={"identifier": creds.identifier, "password": "nope"},
    )
    assert (wrong.status_code, wrong.json()) == (401, {"errorCode": "error.invalid.details"})
    unknown = await http.get("/api/v1/session/encryptionKey", headers={"X-CAP-API-KEY": "NOPE"})
    assert unknown.status_code == 401


async def test_missing_tokens_and_idle_expiry(sim, api, http):
    missing = await http.get("/api/v1/accounts")
    assert (missing.status_code, missing.json()) == (400, {"errorCode": "error.null.client.token"})

    sim.clock.advance(590)
    assert (await api.get("ping")) == (200, {"status": "OK"})  # use within 10 minutes keeps it alive
    sim.clock.advance(590)
    assert (await api.get("session"))[0] == 200
    sim.clock.advance(601)
    assert await api.get("session") == (401, {"errorCode": "error.invalid.session.token"})


async def test_hard_cap_expires_even_an_active_session(http):
    sim = Simulator(
        SimulatorConfig(clock="stepped", session_hard_cap=1200, rate_limits=RateLimits(None, None, None))
    )
    creds = sim.create_account()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://x") as client:
        login = await client.post(
            "/api/v1/session",
            headers={"X-CAP-API-KEY": creds.api_key},
            json={"identifier": creds.identifier, "password": creds.password},
        )
        headers = {k: login.headers[k] for k in ("CST", "X-SECURITY-TOKEN")}
        for _ in range(2):
            sim.clock.advance(500)
            assert (await client.get("/api/v1/ping", headers=headers)).status_code == 200
        sim.clock.advance(300)
        assert (await client.get("/api/v1/ping", headers=headers)).status_code == 401


async def test_switching_account_rotates_the_security_token(sim, login_as):
    creds = sim.create_account(currency="USD", extra_currencies=("EUR",))
    caller, body = await login_as(creds)
    eur_account = body["accounts"][1]["accountId"]
    old_token = caller.headers["X-SECURITY-TOKEN"]

    status, reply = await caller.put("session", {"accountId": eur_account})
    assert status == 200 and reply["dealingEnabled"] is True
    assert caller.headers["X-SECURITY-TOKEN"] != old_token
    assert (await caller.get("session"))[1]["accountId"] == eur_account
    assert await caller.put("session", {"accountId": "999"}) == (
        400,
        {"errorCode": "error.invalid.accountId"},
    )


async def test_logout_kills_the_session(api):
    assert await api.delete("session") == (200, {"status": "SUCCESS"})
    assert (await api.get("accounts"))[0] == 401


async def test_time_needs_no_auth(sim, http):
    response = await http.get("/api/v1/time")
    assert response.json() == {"serverTime": int(sim.clock.now().timestamp() * 1000)}


async def test_session_creation_is_limited_to_one_per_second_per_key():
    sim = Simulator(SimulatorConfig(clock="stepped"))  # default, real limits
    creds = sim.create_account()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://x") as client:
        statuses = []
        for _ in range(2):
            response = await client.post(
                "/api/v1/session",
                headers={"X-CAP-API-KEY": creds.api_key},
                json={"identifier": creds.identifier, "password": creds.password},
            )
            statuses.append((response.status_code, response.json().get("errorCode")))
    assert statuses == [(200, None), (429, "error.too-many.requests")]


async def test_requests_are_limited_to_ten_per_second_per_user():
    sim = Simulator(SimulatorConfig(clock="stepped"))
    creds = sim.create_account()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://x") as client:
        login = await client.post(
            "/api/v1/session",
            headers={"X-CAP-API-KEY": creds.api_key},
            json={"identifier": creds.identifier, "password": creds.password},
        )
        headers = {k: login.headers[k] for k in ("CST", "X-SECURITY-TOKEN")}
        statuses = [(await client.get("/api/v1/ping", headers=headers)).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


async def test_duplicate_slashes_are_collapsed(sim, http):
    assert (await http.get("http://sandbox//api/v1//time")).status_code == 200


async def test_seeded_demo_users_can_log_in(sim, http):
    response = await http.post(
        "/api/v1/session",
        headers={"X-CAP-API-KEY": "DEMO-API-KEY-USD"},
        json={"identifier": "demo@trade-tracker.local", "password": "demo-password"},
    )
    assert response.status_code == 200


def test_a_faster_clock_keeps_the_venue_timeouts_in_wall_time():
    """`make run` runs the market 60 times faster; clients still ping every few wall minutes."""
    from tt_sandbox.capitalcom.__main__ import parse

    _, real = parse([])
    _, fast = parse(["--speed", "60"])
    assert real.clock == "real" and fast.clock == "accelerated" and fast.speed == 60
    assert fast.session_idle_timeout == 60 * real.session_idle_timeout == 36_000
    assert fast.ws_ping_timeout == 60 * real.ws_ping_timeout
    assert fast.session_hard_cap == 60 * real.session_hard_cap
