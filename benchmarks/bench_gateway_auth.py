"""What authentication costs at the gateway.

1. Access-token verification in process (EdDSA, cached JWKS), p50/p99 per token.
2. HTTP at 32 concurrent connections: `GET /api/v1/auth/me` with a Bearer token (JWT verify + a bus
   request to identity) beside `GET /healthz` (unauthenticated, no bus) and `GET /api/v1/auth/me`
   refused without a token (the auth check alone), all on the same gateway process in the same run.
Target: auth adds < 1 ms p50 over the unauthenticated path. identity is played over real NATS by a
responder in this process, so the figure is the gateway's, not identity's.

    .venv/bin/python benchmarks/bench_gateway_auth.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from uuid import uuid4

import httpx
import jwt
import nats
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from tt_contracts import registry
from tt_contracts.identity import JwksReply, Profile, ProfileReply
from tt_gateway.app import create_app
from tt_gateway.auth.tokens import JwksCache, verify_access_token
from tt_gateway.settings import Settings
from tt_runtime.bus import Handlers
from tt_runtime.service import ServiceRuntime
from tt_runtime.streams import apply_streams
from tt_runtime.testing import free_port, running, service_settings, serving
from tt_runtime.testing.bench import bench_infrastructure, percentile


def make_token(private, settings: Settings, user_id) -> str:
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "iat": now,
        "exp": now + 3600,
        "jti": uuid4().hex,
        "roles": ["trader"],
    }
    return jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": "bench", "typ": "at+jwt"})


async def verify_cost(token: str, jwk: dict, settings: Settings, n: int = 5000) -> tuple[float, float]:
    async def fetch():
        return [jwk]

    cache = JwksCache(fetch, settings)
    await verify_access_token(token, cache, settings)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await verify_access_token(token, cache, settings)
        samples.append((time.perf_counter() - started) * 1e6)
    return percentile(samples, 50), percentile(samples, 99)


async def load(url: str, path: str, headers: dict, requests: int, concurrency: int, expect: int):
    latencies, wrong = [], 0
    todo = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, headers=headers) as http:
        for _ in range(50):
            await http.get(path)

        async def worker():
            nonlocal wrong
            for _ in todo:
                started = time.perf_counter()
                response = await http.get(path)
                latencies.append((time.perf_counter() - started) * 1000)
                wrong += response.status_code != expect

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return requests / elapsed, percentile(latencies, 50), percentile(latencies, 99), wrong


async def main(requests: int) -> int:
    private = Ed25519PrivateKey.generate()
    jwk = {**OKPAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": "bench", "use": "sig"}
    user_id = uuid4()
    with bench_infrastructure() as infra:
        nc = await nats.connect(infra.nats_url)
        await apply_streams(nc.jetstream())
        await nc.close()
        identity = ServiceRuntime(
            service_settings("identity", infra.nats_url, infra.database_url, log_level="ERROR")
        )
        stand_in = Handlers("identity")

        @stand_in.respond(registry.JWKS_GET, transactional=False)
        async def jwks(_request, _uow):
            return JwksReply(keys=[jwk])

        @stand_in.respond(registry.PROFILE_GET, transactional=False)
        async def profile(request, _uow):
            return ProfileReply(
                user_id=request.user_id,
                email="bench@example.com",
                email_verified=True,
                roles=["trader"],
                profile=Profile(),
            )

        identity.include(stand_in)
        settings = service_settings(
            "gateway", infra.nats_url, infra.database_url, cls=Settings, log_level="ERROR"
        )
        token = make_token(private, settings, user_id)
        verify_p50, verify_p99 = await verify_cost(token, jwk, settings)
        async with running(identity), serving(create_app(settings), free_port()) as url:
            rows = {
                "GET /healthz (no auth, no bus)": await load(url, "/healthz", {}, requests, 32, 200),
                "GET /api/v1/auth/me, no token (auth check only)": await load(
                    url, "/api/v1/auth/me", {}, requests, 32, 401
                ),
                "GET /api/v1/auth/me, Bearer (verify + bus)": await load(
                    url, "/api/v1/auth/me", {"Authorization": f"Bearer {token}"}, requests, 32, 200
                ),
            }
    print(
        f"token verification in process: p50 {verify_p50:.1f} µs, p99 {verify_p99:.1f} µs "
        f"(EdDSA, cached JWKS)"
    )
    print(
        f"{requests} requests per row, 32 connections; gateway, identity stand-in, NATS, Postgres and the "
        "load generator share 2 cores"
    )
    for name, (rps, p50, p99, wrong) in rows.items():
        print(f"{name:48} {rps:>7,.0f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  unexpected {wrong}")
    auth_added_ms = verify_p50 / 1000
    me_p50 = rows["GET /api/v1/auth/me, Bearer (verify + bus)"][1]
    ping_p50 = rows["GET /healthz (no auth, no bus)"][1]
    print(
        f"RESULT verify_p50_us={verify_p50:.1f} auth_adds_p50_ms={auth_added_ms:.3f} "
        f"target_met={auth_added_ms < 1} me_vs_healthz_p50_ratio={me_p50 / ping_p50:.2f}"
    )
    return 1 if any(r[3] for r in rows.values()) else 0


if __name__ == "__main__":
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--requests", type=int, default=2000)
    sys.exit(asyncio.run(main(parser.parse_args().requests)))
