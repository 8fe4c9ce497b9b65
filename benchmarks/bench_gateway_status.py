"""Gateway `/api/v1/system/status` (asks all seven other services over NATS) under concurrency.

Every service runs as its own process, as in production. Reference measured in the same run on the
same gateway process: `/healthz` (no bus, no database), the ceiling of the HTTP stack itself.

    .venv/bin/python benchmarks/bench_gateway_status.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time

import httpx
import nats

from tt_contracts import SERVICES
from tt_runtime.local_servers import free_port
from tt_runtime.streams import apply_streams
from tt_runtime.testing.bench import bench_infrastructure, percentile


@contextlib.asynccontextmanager
async def platform(infra):
    ports = {service: free_port() for service in SERVICES}
    procs = []
    for service, port in ports.items():
        env = {
            **os.environ,
            "NATS_URL": infra.nats_url,
            "DATABASE_URL": infra.database_url,
            "SERVICE_PORT": str(port),
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "ERROR",
            "LOG_JSON": "true",
        }
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tt_" + service.replace("-", "_"),
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        )
    url = f"http://127.0.0.1:{ports['gateway']}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/api/v1/system/status")).json().get("status") == "ok":
                        break
                await asyncio.sleep(0.5)
            else:
                raise RuntimeError("platform did not come up")
        yield url
    finally:
        for proc in procs:
            proc.terminate()
        await asyncio.gather(*(proc.wait() for proc in procs))


async def load(url: str, path: str, requests: int, concurrency: int) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, non-2xx count) for `requests` GETs with `concurrency` in flight."""
    latencies: list[float] = []
    errors = 0
    queue = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        for _ in range(min(50, requests)):  # warm the connections
            await http.get(path)

        async def worker() -> None:
            nonlocal errors
            for _ in queue:
                started = time.perf_counter()
                response = await http.get(path)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or (
                    path.endswith("status") and response.json()["status"] != "ok"
                ):
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return requests / elapsed, percentile(latencies, 50), percentile(latencies, 99), errors


async def main(requests: int) -> int:
    with bench_infrastructure() as infra:
        nc = await nats.connect(infra.nats_url)
        await apply_streams(nc.jetstream())
        await nc.close()
        async with platform(infra) as url:
            rows = []
            for concurrency in (1, 32):
                for path in ("/healthz", "/api/v1/system/status"):
                    rows.append((path, concurrency, *await load(url, path, requests, concurrency)))
    print(f"{requests} requests per row; 8 services + nats-server + Postgres + the load generator on 2 cores")
    print(f"{'endpoint':24} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for path, conc, rps, p50, p99, errors in rows:
        print(f"{path:24} {conc:>4} {rps:>8,.0f} {p50:>8.2f} {p99:>8.2f} {errors:>6}")
    by = {(p, c): (rps, p50, p99) for p, c, rps, p50, p99, _ in rows}
    for conc in (1, 32):
        status, ref = by[("/api/v1/system/status", conc)], by[("/healthz", conc)]
        print(
            f"RESULT concurrency={conc} status_p50_ms={status[1]:.2f} status_p99_ms={status[2]:.2f} "
            f"throughput_ratio_vs_healthz={status[0] / ref[0]:.2f}"
        )
    return 1 if any(r[-1] for r in rows) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    sys.exit(asyncio.run(main(parser.parse_args().requests)))
