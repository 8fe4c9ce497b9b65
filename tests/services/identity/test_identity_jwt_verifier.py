"""What a standard verifier (joserfc, independent of tt_identity) must accept and reject, given only
the JWKS identity publishes: alg pinned to EdDSA, typ at+jwt, iss/aud checked, exp enforced, kid known."""

import base64
import hashlib
import hmac
import json

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from tt_contracts import identity as c
from tt_identity.testing import identity_settings, running_identity

ISS, AUD = "identity", "platform-gateway"


def verify(token: str, jwks: dict) -> dict:
    """The gateway-side rules, written with joserfc only."""
    keys = KeySet.import_key_set(jwks)
    decoded = jwt.decode(token, keys, algorithms=["EdDSA"])
    if decoded.header.get("typ") != "at+jwt":
        raise JoseError("wrong typ")
    JWTClaimsRegistry(
        iss={"essential": True, "value": ISS},
        aud={"essential": True, "value": AUD},
        sub={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
    ).validate(decoded.claims)
    return decoded.claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict, claims: dict, signature: bytes = b"") -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(signature)}"


@pytest.fixture
async def issued(nats_url, database_url, jetstream):
    settings = identity_settings(nats_url, database_url, email_enabled=False)
    async with running_identity(settings) as idn:
        await idn.ask(c.USER_REGISTER, c.RegisterUser(email="v@example.test", password="correct horse 42"))
        pair = await idn.ask(
            c.USER_AUTHENTICATE, c.AuthenticateUser(email="v@example.test", password="correct horse 42")
        )
        jwks = {"keys": (await idn.ask(c.JWKS_GET, c.GetJwks())).keys}
        yield pair.access_token, jwks


def _parts(token: str) -> tuple[dict, dict]:
    head, body, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return json.loads(base64.urlsafe_b64decode(pad(head))), json.loads(base64.urlsafe_b64decode(pad(body)))


async def test_a_genuine_token_verifies(issued):
    token, jwks = issued
    claims = verify(token, jwks)
    assert claims["iss"] == ISS and claims["aud"] == AUD and claims["roles"] == ["trader"]
    assert [k["kty"] for k in jwks["keys"]] == ["OKP"] and all("d" not in k for k in jwks["keys"])


async def test_forged_and_mismatched_tokens_are_rejected(issued):
    token, jwks = issued
    header, claims = _parts(token)
    public_x = jwks["keys"][0]["x"].encode()
    hs_header = {**header, "alg": "HS256"}
    hs_input = f"{_b64(json.dumps(hs_header).encode())}.{_b64(json.dumps(claims).encode())}"
    forged = {
        "alg none": _forge({**header, "alg": "none"}, claims),
        "HS256 keyed with the public key": hs_input
        + "."
        + _b64(hmac.new(public_x, hs_input.encode(), hashlib.sha256).digest()),
        "tampered claims": token.split(".")[0]
        + "."
        + _b64(json.dumps({**claims, "roles": ["admin"]}).encode())
        + "."
        + token.split(".")[2],
        "unknown kid": _forge({**header, "kid": "nope"}, claims, b"x" * 64),
    }
    for name, bad in forged.items():
        with pytest.raises((JoseError, ValueError)):
            verify(bad, jwks)
            pytest.fail(name)


@pytest.mark.parametrize(
    "overrides",
    [{"jwt_audience": "other-audience"}, {"jwt_issuer": "evil-issuer"}, {"access_token_ttl_seconds": -120}],
    ids=["wrong-aud", "wrong-iss", "expired"],
)
async def test_tokens_signed_with_the_real_key_but_wrong_claims_are_rejected(
    overrides, nats_url, database_url, jetstream
):
    settings = identity_settings(nats_url, database_url, email_enabled=False, **overrides)
    async with running_identity(settings) as idn:
        await idn.ask(c.USER_REGISTER, c.RegisterUser(email="w@example.test", password="correct horse 42"))
        pair = await idn.ask(
            c.USER_AUTHENTICATE, c.AuthenticateUser(email="w@example.test", password="correct horse 42")
        )
        jwks = {"keys": (await idn.ask(c.JWKS_GET, c.GetJwks())).keys}
    jwt.decode(pair.access_token, KeySet.import_key_set(jwks), algorithms=["EdDSA"])  # the signature is fine
    with pytest.raises(JoseError):
        verify(pair.access_token, jwks)
