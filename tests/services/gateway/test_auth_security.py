"""Edge security of the gateway, tested without the rest of the platform: access-token verification
(RFC 8725 attacks), CSRF, security headers, silent session refresh and rate limits."""

import base64
import hashlib
import hmac
import json
import time
from uuid import uuid4

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tt_contracts.identity import TokenPair
from tt_gateway.auth.tokens import InvalidToken, JwksCache, verify_access_token
from tt_gateway.security import CsrfProtection, RateLimiter, SecurityHeaders, SessionRefresh
from tt_gateway.settings import Settings

SETTINGS = Settings(environment="test", public_url="https://tt.example")
BASE = "https://tt.example"


class Keys:
    def __init__(self, kid: str = "k1") -> None:
        self.kid = kid
        self.private = Ed25519PrivateKey.generate()
        self.jwk = {**OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True), "kid": kid, "use": "sig"}

    def token(self, **overrides) -> str:
        now = int(time.time())
        claims = {
            "iss": SETTINGS.jwt_issuer,
            "aud": SETTINGS.jwt_audience,
            "sub": str(uuid4()),
            "iat": now,
            "exp": now + 600,
            "jti": uuid4().hex,
            "roles": ["trader"],
            "sid": str(uuid4()),
        }
        headers = {"kid": self.kid, "typ": "at+jwt"}
        headers.update(overrides.pop("_headers", {}))
        claims.update(overrides)
        for key in [k for k, v in claims.items() if v is None]:
            del claims[key]
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers=headers)


def cache_for(*keys: Keys, fetches: list | None = None) -> JwksCache:
    async def fetch():
        if fetches is not None:
            fetches.append(1)
        return [k.jwk for k in keys]

    return JwksCache(fetch, SETTINGS)


async def test_a_valid_token_yields_the_principal():
    keys = Keys()
    sub = str(uuid4())
    principal = await verify_access_token(
        keys.token(sub=sub, roles=["trader", "admin"]), cache_for(keys), SETTINGS
    )
    assert str(principal.user_id) == sub and principal.has_role("admin")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "attack",
    [
        "alg-none",
        "hs256-with-public-key",
        "wrong-aud",
        "wrong-iss",
        "expired",
        "missing-exp",
        "missing-jti",
        "unknown-kid",
        "wrong-typ",
        "other-key",
        "garbage",
    ],
)
async def test_forged_or_wrong_tokens_are_refused(attack):
    keys, other = Keys(), Keys("k1")
    now = int(time.time())
    if attack == "alg-none":
        header, claims = {"alg": "none", "typ": "at+jwt", "kid": "k1"}, {"sub": str(uuid4()), "exp": now + 60}
        token = f"{_b64(header)}.{_b64(claims)}."
    elif attack == "hs256-with-public-key":
        # The classic confusion attack: an HMAC keyed with the (public) verification key.
        public = keys.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        claims = {
            "sub": str(uuid4()),
            "iss": SETTINGS.jwt_issuer,
            "aud": SETTINGS.jwt_audience,
            "exp": now + 60,
            "iat": now,
            "jti": "x",
        }
        signing_input = f"{_b64({'alg': 'HS256', 'typ': 'at+jwt', 'kid': 'k1'})}.{_b64(claims)}"
        mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    elif attack == "wrong-aud":
        token = keys.token(aud="someone-else")
    elif attack == "wrong-iss":
        token = keys.token(iss="https://evil.example")
    elif attack == "expired":
        token = keys.token(exp=now - 60, iat=now - 700)
    elif attack == "missing-exp":
        token = keys.token(exp=None)
    elif attack == "missing-jti":
        token = keys.token(jti=None)
    elif attack == "unknown-kid":
        token = keys.token(_headers={"kid": "rotated-away"})
    elif attack == "wrong-typ":
        token = keys.token(_headers={"typ": "JWT"})
    elif attack == "other-key":
        token = other.token()  # same kid, different private key
    else:
        token = "not.a.token"
    with pytest.raises(InvalidToken):
        await verify_access_token(token, cache_for(keys), SETTINGS)


async def test_unknown_kid_refetches_once_then_backs_off():
    old, new = Keys("old"), Keys("new")
    fetches: list = []
    served = [old]

    async def fetch():
        fetches.append(1)
        return [k.jwk for k in served]

    cache = JwksCache(fetch, SETTINGS)
    await verify_access_token(old.token(), cache, SETTINGS)
    served.append(new)  # identity rotated keys; the new kid is unknown to the cache
    cache._fetched_at -= SETTINGS.jwks_min_refresh_interval_seconds + 1
    await verify_access_token(new.token(), cache, SETTINGS)
    assert len(fetches) == 2
    for _ in range(5):  # a flood of unknown kids buys no fetches inside the back-off interval
        with pytest.raises(InvalidToken):
            await verify_access_token(new.token(_headers={"kid": f"x{_}"}), cache, SETTINGS)
    assert len(fetches) == 2


# --- CSRF and headers ---------------------------------------------------------------------------------


async def echo(request: Request) -> JSONResponse:
    form = await request.form() if request.method == "POST" else {}
    return JSONResponse(
        {
            "ok": True,
            "name": form.get("name") if form else None,
            "nonce": getattr(request.state, "csp_nonce", None),
        }
    )


def edge_app():
    app = Starlette(
        routes=[
            Route("/thing", echo, methods=["GET", "POST"]),
            Route("/api/v1/thing", echo, methods=["POST"]),
        ]
    )
    return SecurityHeaders(CsrfProtection(app, settings=SETTINGS), settings=SETTINGS)


async def _client():
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=edge_app()), base_url=BASE)


async def test_csrf_token_is_issued_and_a_correct_one_passes():
    async with await _client() as http:
        first = await http.get("/thing")
        token = http.cookies.get("__Host-tt_csrf")
        assert token and "HttpOnly" in first.headers["set-cookie"] and "Secure" in first.headers["set-cookie"]
        ok = await http.post(
            "/thing",
            data={"csrf_token": token, "name": "kept"},
            headers={"Origin": BASE, "Sec-Fetch-Site": "same-origin"},
        )
        assert ok.status_code == 200 and ok.json()["name"] == "kept", "the route still reads the form"
        via_header = await http.post("/thing", data={"name": "x"}, headers={"X-CSRF-Token": token})
        assert via_header.status_code == 200


@pytest.mark.parametrize("case", ["missing", "wrong", "cross-origin", "cross-site", "no-cookie"])
async def test_csrf_refuses_with_no_state_change(case):
    calls = []

    async def tracked(request: Request) -> JSONResponse:
        calls.append(1)
        return JSONResponse({})

    app = SecurityHeaders(
        CsrfProtection(
            Starlette(routes=[Route("/thing", tracked, methods=["GET", "POST"])]), settings=SETTINGS
        ),
        settings=SETTINGS,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        await http.get("/thing")
        token = http.cookies.get("__Host-tt_csrf")
        calls.clear()
        data, headers = {"csrf_token": token}, {}
        if case == "missing":
            data = {}
        elif case == "wrong":
            data = {"csrf_token": "forged"}
        elif case == "cross-origin":
            headers = {"Origin": "https://evil.example"}
        elif case == "cross-site":
            headers = {"Sec-Fetch-Site": "cross-site"}
        else:
            http.cookies.clear()
        response = await http.post("/thing", data=data, headers=headers)
    assert response.status_code == 403 and calls == []


async def test_bearer_api_calls_need_no_csrf_token_but_cookie_sessions_do():
    async with await _client() as http:
        bearer = await http.post("/api/v1/thing", json={}, headers={"Authorization": "Bearer abc"})
        assert bearer.status_code == 200
        http.cookies.set("__Host-tt_access", "cookie-session")
        mixed = await http.post("/api/v1/thing", json={}, headers={"Authorization": "Bearer abc"})
        assert mixed.status_code == 403 and mixed.json()["error"]["code"] == "csrf"


async def test_security_headers_and_a_fresh_nonce_per_request():
    async with await _client() as http:
        one, two = await http.get("/thing"), await http.get("/thing")
    csp = one.headers["content-security-policy"]
    assert (
        f"'nonce-{one.json()['nonce']}'" in csp
        and "frame-ancestors 'none'" in csp
        and "unsafe-inline" not in csp
    )
    assert one.json()["nonce"] != two.json()["nonce"]
    assert one.headers["x-content-type-options"] == "nosniff" and one.headers["x-frame-options"] == "DENY"


# --- silent refresh -------------------------------------------------------------------------------------


def _pair(access: str) -> TokenPair:
    return TokenPair(
        user_id=uuid4(),
        access_token=access,
        refresh_token="r2",
        expires_in=600,
        refresh_expires_in=3600,
        session_id=uuid4(),
    )


async def test_expired_access_cookie_is_renewed_before_the_route_runs():
    keys = Keys()
    fresh = keys.token()
    asked = []

    async def refresh(request):
        asked.append(request.refresh_token.get_secret_value())
        return _pair(fresh)

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"access": request.cookies.get("__Host-tt_access")})

    app = SessionRefresh(Starlette(routes=[Route("/me", whoami)]), settings=SETTINGS, refresh=refresh)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        http.cookies.set("__Host-tt_access", keys.token(exp=int(time.time()) - 5))
        http.cookies.set("__Host-tt_refresh", "r1")
        response = await http.get("/me")
        assert asked == ["r1"]
        assert response.json()["access"] == fresh, "the route already sees the renewed token"
        assert any(h.startswith("__Host-tt_refresh=r2;") for h in response.headers.get_list("set-cookie"))
        asked.clear()
        await http.get("/me")
        assert asked == [], "a fresh access token needs no refresh"


async def test_refused_refresh_clears_the_session():
    async def refresh(request):
        raise RuntimeError("refresh token reused: family revoked")

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"access": request.cookies.get("__Host-tt_access")})

    app = SessionRefresh(Starlette(routes=[Route("/me", whoami)]), settings=SETTINGS, refresh=refresh)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        http.cookies.set("__Host-tt_refresh", "stolen")
        response = await http.get("/me")
    assert response.json()["access"] is None
    assert any("tt_refresh=" in h and "Max-Age=0" in h for h in response.headers.get_list("set-cookie"))


def test_rate_limiter_windows():
    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.allow("ip:1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("ip:2")
    now[0] = 61
    assert limiter.allow("ip:1")


async def test_verified_tokens_are_remembered_until_they_expire(monkeypatch):
    from tt_gateway.auth import tokens

    calls = []
    real_verify = tokens.verify_access_token

    async def counting(token, jwks, settings):
        calls.append(token)
        return await real_verify(token, jwks, settings)

    monkeypatch.setattr(tokens, "verify_access_token", counting)
    keys = Keys()
    now = [time.time()]
    verifier = tokens.AccessTokenVerifier(cache_for(keys), SETTINGS, capacity=2, clock=lambda: now[0])
    token = keys.token(exp=int(now[0]) + 60)
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first and len(calls) == 1, "a second request reuses the check"
    now[0] += 61
    await verifier.verify(token)
    assert len(calls) == 2, "past its exp the token is checked again"
    for _ in range(3):
        await verifier.verify(keys.token())
    assert len(verifier._verified) == 2, "the memory is bounded"
    with pytest.raises(InvalidToken):
        await verifier.verify(token[:-4] + "AAAA")  # a tampered token is never a cache hit
