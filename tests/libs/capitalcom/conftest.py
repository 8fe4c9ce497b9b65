"""Shared fakes: a controllable clock and an in-process venue behind httpx.MockTransport."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tt_capitalcom import CapitalComClient, CapitalComConfig

API_KEY = "api-key-0123456789"
PASSWORD = "key-password-!secret"
IDENTIFIER = "trader@example.com"
REST_URL = "https://venue.test/api/v1"

# Key generation is the slow part of these tests: one key for the whole session.
_PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeClock:
    """Monotonic time that only moves when something sleeps or a test advances it."""

    def __init__(self, start: float = 10_000.0):
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


Handler = Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers)


def error_response(status: int, code: str) -> httpx.Response:
    return json_response(status, {"errorCode": code})


class MockVenue:
    """Just enough of the venue for client tests: login (both modes), token checks, custom routes."""

    # Tests reach helpers through the fixture: importlib import mode makes conftest unimportable.
    json = staticmethod(json_response)
    error = staticmethod(error_response)
    api_key = API_KEY
    password = PASSWORD

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Handler] = {}
        self.logins = 0
        self.valid_tokens: set[tuple[str, str]] = set()
        self.key_timestamp = 1_649_058_606_014
        self.decrypted_passwords: list[str] = []

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def requests_to(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and _path(r) == path]

    def invalidate_sessions(self) -> None:
        self.valid_tokens.clear()

    def authorized(self, request: httpx.Request) -> bool:
        return (request.headers.get("CST"), request.headers.get("X-SECURITY-TOKEN")) in self.valid_tokens

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, _path(request))
        if key == ("GET", "session/encryptionKey"):
            return self._encryption_key(request)
        if key in self.routes and (key in _PUBLIC or self.authorized(request)):
            return self.routes[key](request)
        if key == ("POST", "session"):
            return self._login(request)
        if not self.authorized(request):
            return error_response(401, "error.invalid.session.token")
        if key == ("GET", "ping"):
            return json_response(200, {"status": "OK"})
        return error_response(404, "error.not-found.path")

    def _encryption_key(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-CAP-API-KEY") != API_KEY:
            return error_response(400, "error.null.api.key")
        der = _PRIVATE_KEY.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return json_response(
            200, {"encryptionKey": base64.b64encode(der).decode(), "timeStamp": self.key_timestamp}
        )

    def _login(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-CAP-API-KEY") != API_KEY:
            return error_response(400, "error.null.api.key")
        body = json.loads(request.content)
        password = body["password"]
        if body.get("encryptedPassword") is True:
            plain = _PRIVATE_KEY.decrypt(base64.b64decode(password), padding.PKCS1v15())
            password, _, stamp = base64.b64decode(plain).decode().rpartition("|")
            assert stamp == str(self.key_timestamp)
            self.decrypted_passwords.append(password)
        if body["identifier"] != IDENTIFIER or password != PASSWORD:
            return error_response(401, "error.invalid.details")
        self.logins += 1
        tokens = (f"cst-{self.logins}", f"sec-{self.logins}")
        self.valid_tokens.add(tokens)
        return json_response(
            200,
            {
                "accountType": "CFD",
                "currencyIsoCode": "USD",
                "currentAccountId": "12345678901234567",
                "streamingHost": "wss://stream.venue.test/",
                "accounts": [{"accountId": "12345678901234567", "accountName": "USD", "preferred": True}],
                "clientId": "12345678",
                "timezoneOffset": 3,
            },
            headers={"CST": tokens[0], "X-SECURITY-TOKEN": tokens[1]},
        )


_PUBLIC = {("POST", "session"), ("GET", "time")}


def _path(request: httpx.Request) -> str:
    return request.url.path.removeprefix("/api/v1/")


def make_config(**overrides: Any) -> CapitalComConfig:
    settings: dict[str, Any] = {
        "api_key": API_KEY,
        "identifier": IDENTIFIER,
        "password": PASSWORD,
        "rest_url": REST_URL,
        "backoff_initial": 0.01,
        "backoff_max": 0.01,
    }
    settings.update(overrides)
    return CapitalComConfig(**settings)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def venue() -> MockVenue:
    return MockVenue()


@pytest.fixture
async def make_client(venue: MockVenue, clock: FakeClock):
    clients: list[CapitalComClient] = []

    def factory(**overrides: Any) -> CapitalComClient:
        client = CapitalComClient(
            make_config(**overrides), transport=venue.transport, clock=clock, sleep=clock.sleep
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()
