"""Sign-in throughput, bounded by argon2id cost.

Reports the argon2 parameters (t, m, p), ms per hash, and password sign-ins per second over the bus
(request → identity: lockout checks, argon2 verify in the bounded pool, session + refresh token +
audit row in one transaction, EdDSA JWT) against raw ``argon2.PasswordHasher().verify`` with the
same number of threads, measured in the same run. Real NATS and Postgres (fsync on), loopback only.
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor

import nats
from argon2 import PasswordHasher

from tt_contracts import identity as c
from tt_identity.testing import identity_settings, running_identity
from tt_runtime.streams import apply_streams
from tt_runtime.testing.bench import bench_infrastructure, percentile

DURATION = float(os.environ.get("BENCH_SECONDS", "5"))
USERS = 8
CLIENTS = 8
PASSWORD = "correct horse 42"


def raw_rate(hasher: PasswordHasher, threads: int) -> tuple[float, float]:
    stored = hasher.hash(PASSWORD)
    started = time.perf_counter()
    for _ in range(5):
        hasher.verify(stored, PASSWORD)
    ms_per_hash = (time.perf_counter() - started) / 5 * 1000

    def loop() -> int:
        done, deadline = 0, time.perf_counter() + DURATION
        while time.perf_counter() < deadline:
            hasher.verify(stored, PASSWORD)
            done += 1
        return done

    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        total = sum(pool.map(lambda _: loop(), range(threads)))
        return ms_per_hash, total / (time.perf_counter() - started)


async def bus_rate(nats_url: str, database_url: str, threads: int) -> tuple[float, list[float]]:
    nc = await nats.connect(nats_url)
    await apply_streams(nc.jetstream())
    await nc.close()
    settings = identity_settings(
        nats_url,
        database_url,
        argon2_time_cost=None,
        argon2_memory_cost=None,
        argon2_parallelism=None,
        password_hash_concurrency=threads,
        email_enabled=False,
        request_timeout_seconds=30,
        db_pool_size=CLIENTS,
    )
    async with running_identity(settings) as idn:
        for i in range(USERS):
            await idn.ask(
                c.USER_REGISTER, c.RegisterUser(email=f"bench{i}@example.test", password=PASSWORD), 30
            )
        await idn.ask(
            c.USER_AUTHENTICATE, c.AuthenticateUser(email="bench0@example.test", password=PASSWORD), 30
        )
        latencies: list[float] = []
        deadline = time.perf_counter() + DURATION

        async def client(n: int) -> int:
            done = 0
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                await idn.ask(
                    c.USER_AUTHENTICATE,
                    c.AuthenticateUser(email=f"bench{n % USERS}@example.test", password=PASSWORD),
                    30,
                )
                latencies.append((time.perf_counter() - t0) * 1000)
                done += 1
            return done

        started = time.perf_counter()
        total = sum(await asyncio.gather(*[client(n) for n in range(CLIENTS)]))
        return total / (time.perf_counter() - started), latencies


def main() -> None:
    hasher = PasswordHasher()  # argon2-cffi's default profile, as identity uses in production
    threads = 2  # identity's default PASSWORD_HASH_CONCURRENCY
    t, m, p = hasher.time_cost, hasher.memory_cost, hasher.parallelism
    print(f"argon2id parameters: t={t} m={m} KiB ({m // 1024} MiB) p={p}; cores={os.cpu_count()}")
    ms_per_hash, raw = raw_rate(hasher, threads)
    print(
        f"raw PasswordHasher.verify: {ms_per_hash:.1f} ms/hash single-threaded; "
        f"{raw:.1f} verifies/s on {threads} threads"
    )
    with bench_infrastructure() as infra:
        bus, latencies = asyncio.run(bus_rate(infra.nats_url, infra.database_url, threads))
    print(
        f"sign-ins over the bus: {bus:.1f}/s with {CLIENTS} concurrent clients "
        f"(p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms)"
    )
    print(
        f"RESULT identity sign-in: {bus:.1f} sign-ins/s = {bus / raw:.2f}x raw argon2 verify ({raw:.1f}/s); "
        f"argon2id t={t} m={m // 1024}MiB p={p} {ms_per_hash:.1f} ms/hash"
    )


if __name__ == "__main__":
    main()
