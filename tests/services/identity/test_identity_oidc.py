"""Google-style sign-in (code + PKCE) against oidc-provider-mock, and federated tokens minted locally."""

import json
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from sqlalchemy import text

from tt_contracts import identity as c
from tt_identity.testing import identity_settings, running_identity
from tt_runtime.client import RemoteError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import oidc_provider_mock

REDIRECT = "http://gateway.test/auth/callback/google"


@pytest.fixture
def provider():
    users = [
        oidc_provider_mock.User(
            sub="g-alice", claims={"email": "alice@example.test", "email_verified": True}
        ),
        oidc_provider_mock.User(
            sub="g-mallory", claims={"email": "mallory@example.test", "email_verified": False}
        ),
    ]
    with oidc_provider_mock.run_server_in_thread(port=0, require_nonce=True, user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


async def _google(idn, sub, *, nonce_override=None):
    started = await idn.ask(
        c.OIDC_AUTHORIZE_URL, c.OidcAuthorizeUrl(provider="google", redirect_uri=REDIRECT)
    )
    query = parse_qs(urlparse(started.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [started.state]
    async with httpx.AsyncClient() as browser:
        consent = await browser.post(started.url, data={"sub": sub})
    code = parse_qs(urlparse(consent.headers["location"]).query)["code"][0]
    return await idn.ask(
        c.OIDC_SIGN_IN,
        c.OidcSignIn(
            provider="google",
            code=code,
            code_verifier=started.code_verifier,
            redirect_uri=REDIRECT,
            nonce=nonce_override or started.nonce,
        ),
    )


async def test_google_sign_in_links_by_verified_email(provider, nats_url, database_url, jetstream):
    settings = identity_settings(
        nats_url,
        database_url,
        email_enabled=False,
        oidc_providers={
            "google": {
                "discovery_url": f"{provider}/.well-known/openid-configuration",
                "client_id": "tt",
                "client_secret": "google-client-secret",
            }
        },
    )
    async with running_identity(settings) as idn:
        registered = await idn.ask(
            c.USER_REGISTER, c.RegisterUser(email="alice@example.test", password="correct horse 42")
        )
        pair = await _google(idn, "g-alice")
        assert pair.user_id == registered.user_id
        profile = await idn.ask(c.PROFILE_GET, c.GetProfile(user_id=pair.user_id))
        assert profile.linked_providers == ["google"] and profile.email_verified
        assert (await _google(idn, "g-alice")).user_id == registered.user_id  # the link, not the email, now
        with pytest.raises(RemoteError) as unverified:
            await _google(idn, "g-mallory")
        assert unverified.value.code == "unauthorized"
        with pytest.raises(RemoteError) as bad_nonce:
            await _google(idn, "g-alice", nonce_override="not-the-nonce")
        assert bad_nonce.value.code == "unauthorized"
        async with idn.runtime.db.sessions() as s:
            subjects = (await s.execute(text("SELECT subject FROM identity.outbox"))).scalars().all()
        assert subjects.count("identity.evt.user.account-linked.v1") == 1


class _Jwks:
    def __init__(self, jwks):
        body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def test_external_issuer_tokens(nats_url, database_url, jetstream):
    key = generate_private_key(65537, 2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = _Jwks({"keys": [{**jwk, "kid": "clerk-1", "alg": "RS256", "use": "sig"}]})
    issuer = "https://tt.clerk.accounts.test"
    settings = identity_settings(
        nats_url,
        database_url,
        email_enabled=False,
        external_issuers=[
            {"issuer": issuer, "jwks_url": jwks.url, "authorized_parties": ["http://gateway.test"]}
        ],
    )

    def mint(**overrides):
        now = int(time.time())
        claims = {
            "iss": issuer,
            "sub": "user_123",
            "azp": "http://gateway.test",
            "iat": now,
            "nbf": now,
            "exp": now + 60,
            "email": "zed@example.test",
            "email_verified": True,
            **overrides,
        }
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "clerk-1"})

    try:
        async with running_identity(settings) as idn:
            pair = await idn.ask(c.EXTERNAL_SIGN_IN, c.ExternalTokenSignIn(token=mint()))
            assert pair.roles == ["trader"]
            for bad in (
                mint(azp="https://evil.test"),
                mint(exp=int(time.time()) - 600),
                mint(iss="https://other"),
                mint(email_verified=False, sub="user_456"),
            ):
                with pytest.raises(RemoteError) as err:
                    await idn.ask(c.EXTERNAL_SIGN_IN, c.ExternalTokenSignIn(token=bad))
                assert err.value.code == "unauthorized"
            assert (
                await idn.ask(c.EXTERNAL_SIGN_IN, c.ExternalTokenSignIn(token=mint()))
            ).user_id == pair.user_id
    finally:
        jwks.server.shutdown()
        jwks.server.server_close()
