"""Capital.com client: REST order round trip (create position -> confirm -> close -> confirm) p50/p99.

The simulator runs in-process (`sim.serve()`, loopback, stepped clock, BTCUSD so the market is
open). Its trade limit (one creation per 0.1 s per user) and demo hourly cap stay on and are
honoured: round trips start 0.3 s apart, so the client's trade bucket (9/s) never has to
hold a request back and its pacing is not part of the figure. The per-user request limit is off on
both sides, so the client's 7/s read pacing does not stretch a round trip of four requests either.

Reference in the same run: a plain `httpx.AsyncClient` GET `/api/v1/ping` round trip against the same
simulator with the same session, the HTTP floor. A position round trip is four requests, so a ratio
near 4 means the client and the dealing engine add little on top of HTTP.

    .venv/bin/python benchmarks/bench_capitalcom_orders.py [--round-trips 150]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from decimal import Decimal

import httpx

from tt_capitalcom import CapitalComClient, CapitalComConfig, Direction, RateLimit
from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig

SPACING = 0.3  # seconds between round-trip starts: the two trade tokens (9/s) are always back


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def round_trips(client: CapitalComClient, count: int) -> list[float]:
    timings = []
    next_start = time.perf_counter()
    for _ in range(count):
        await asyncio.sleep(max(0.0, next_start - time.perf_counter()))
        next_start = time.perf_counter() + SPACING
        started = time.perf_counter()
        opened = await client.await_confirm(
            await client.create_position("BTCUSD", Direction.BUY, Decimal("0.01"))
        )
        [deal_id] = [d.deal_id for d in opened.affected_deals if d.status == "OPENED"]
        closed = await client.await_confirm(await client.close_position(deal_id))
        timings.append(time.perf_counter() - started)
        assert closed.status == "CLOSED"
    return timings


async def pings(rest_url: str, creds, count: int) -> list[float]:
    async with httpx.AsyncClient(base_url=rest_url) as http:
        login = await http.post(
            "/session",
            headers={"X-CAP-API-KEY": creds.api_key},
            json={"identifier": creds.identifier, "password": creds.password},
        )
        login.raise_for_status()
        headers = {"CST": login.headers["CST"], "X-SECURITY-TOKEN": login.headers["X-SECURITY-TOKEN"]}
        for _ in range(20):  # warm-up
            (await http.get("/ping", headers=headers)).raise_for_status()
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            response = await http.get("/ping", headers=headers)
            timings.append(time.perf_counter() - started)
            response.raise_for_status()
    return timings


async def main(count: int) -> None:
    limits = RateLimits(requests_per_second=None, session_interval_seconds=None)  # trade limits stay on
    sim = Simulator(SimulatorConfig(seed=7, clock="stepped", rate_limits=limits, seed_demo_users=False))
    async with sim.serve() as urls:
        creds = sim.create_account(currency="USD", balance=Decimal("100000"))
        config = CapitalComConfig(
            api_key=creds.api_key,
            identifier=creds.identifier,
            password=creds.password,
            rest_url=urls.rest,
            encrypted_password=False,
            request_limit=RateLimit(rate=1000, burst=100),
            trade_limit=RateLimit(rate=9, burst=2),
            confirm_poll_interval=0.01,
        )
        async with CapitalComClient(config) as client:
            await round_trips(client, 10)  # warm-up: login, connection pool, caches
            trips = await round_trips(client, count)
            positions = await client.get_positions()
        floor = await pings(urls.rest, creds, max(count, 300))
    assert positions == []

    rt50, rt99 = percentile(trips, 50) * 1000, percentile(trips, 99) * 1000
    p50, p99 = percentile(floor, 50) * 1000, percentile(floor, 99) * 1000
    print(f"{count} position round trips (4 requests each) vs {len(floor)} pings; loopback, one event loop")
    print(f"{'':34} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'create -> confirm -> close -> confirm':34} {rt50:>8.2f} {rt99:>8.2f}")
    print(f"{'GET /ping (httpx, HTTP floor)':34} {p50:>8.2f} {p99:>8.2f}")
    print(f"{'ratio (round trip / ping)':34} {rt50 / p50:>8.2f} {rt99 / p99:>8.2f}")
    print(
        f"RESULT round_trip_p50_ms={rt50:.2f} round_trip_p99_ms={rt99:.2f} ping_p50_ms={p50:.2f} "
        f"ping_p99_ms={p99:.2f} ratio_p50={rt50 / p50:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=150)
    asyncio.run(main(parser.parse_args().round_trips))
