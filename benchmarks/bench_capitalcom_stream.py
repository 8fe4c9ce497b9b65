"""Capital.com simulator: sustained quote fan-out over WebSocket to N subscribers (20 epics each).

The simulator runs in-process (`sim.serve()`, loopback) on a stepped clock that the benchmark drives
as fast as the sockets drain: it advances the clock whenever the server's outgoing queues are short,
so the figure is the sustained delivery rate, not a burst into unbounded buffers. Quotes are counted
at the receiving clients: raw `websockets` clients (every frame is seen; the headline rows), plus a
row with `CapitalComStream` clients (counted with `stats.quotes`, i.e. before its per-epic conflation).

Reference in the same run: a raw `websockets` server pushing frames of the same size to the same
number of raw clients on loopback, the transport ceiling. Server and clients share one event loop in
both cases.

    .venv/bin/python benchmarks/bench_capitalcom_stream.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from decimal import Decimal

import httpx
import websockets

from tt_capitalcom import CapitalComClient, CapitalComConfig, CapitalComStream
from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig

EPICS = [
    "EURUSD",
    "GBPUSD",
    "USDJPY",
    "USDCHF",
    "AUDUSD",
    "USDCAD",
    "NZDUSD",
    "EURGBP",
    "EURJPY",
    "GBPJPY",
    "BTCUSD",
    "ETHUSD",
    "XRPUSD",
    "SOLUSD",
    "LTCUSD",
    "GOLD",
    "SILVER",
    "OIL_CRUDE",
    "OIL_BRENT",
    "COPPER",
]
SUBSCRIBERS = (1, 10, 50)
STEP_SECONDS = 5  # sim seconds per clock step: 5 ticks x 20 epics = 100 quotes per subscriber
NO_LIMITS = RateLimits(None, None, None, None, None, None)


def simulator() -> Simulator:
    return Simulator(
        SimulatorConfig(
            seed=7,
            clock="stepped",
            rate_limits=NO_LIMITS,
            seed_demo_users=False,
            session_idle_timeout=1e12,
            session_hard_cap=None,
            ws_ping_timeout=1e12,
        )
    )


async def drive(sim: Simulator, seconds: float, received: list[int], expected_sockets: int) -> float:
    """Step the clock while the server's queues are short; returns quotes/s counted at the clients."""
    for _ in range(1000):  # wait (at most 10 s) until every subscriber's socket is up
        if len(sim.streams.connections) >= expected_sockets:
            break
        await asyncio.sleep(0.01)
    per_step = STEP_SECONDS * len(EPICS) * expected_sockets
    await asyncio.sleep(0.05)
    start_count, started = sum(received), time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        backlog = sum(c.outbox.qsize() for c in sim.streams.connections)
        if backlog < 2 * per_step:
            sim.clock.advance(STEP_SECONDS)
        await asyncio.sleep(0)
    elapsed = time.perf_counter() - started
    return (sum(received) - start_count) / elapsed


async def raw_subscribers(sim: Simulator, urls, n: int, seconds: float) -> float:
    creds = sim.create_account(currency="USD", balance=Decimal(1000))
    async with httpx.AsyncClient(base_url=urls.rest) as http:
        login = await http.post(
            "/session",
            headers={"X-CAP-API-KEY": creds.api_key},
            json={"identifier": creds.identifier, "password": creds.password},
        )
        login.raise_for_status()
    tokens = {"cst": login.headers["CST"], "securityToken": login.headers["X-SECURITY-TOKEN"]}
    received = [0] * n
    sizes: list[int] = []

    async def subscriber(i: int) -> None:
        async with websockets.connect(urls.ws, max_queue=None) as ws:
            subscribe = {
                "destination": "marketData.subscribe",
                "correlationId": "1",
                "payload": {"epics": EPICS},
            }
            await ws.send(json.dumps(subscribe | tokens))
            json.loads(await ws.recv())  # the subscription answer
            async for message in ws:
                received[i] += 1
                if i == 0 and len(sizes) < 100:
                    sizes.append(len(message))

    tasks = [asyncio.create_task(subscriber(i)) for i in range(n)]
    try:
        rate = await drive(sim, seconds, received, n)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    raw_subscribers.frame_size = round(sum(sizes) / max(1, len(sizes)))
    return rate


async def stream_subscribers(sim: Simulator, urls, n: int, seconds: float) -> float:
    clients, streams, consumers = [], [], []
    for _ in range(n):
        creds = sim.create_account(currency="USD", balance=Decimal(1000))
        config = CapitalComConfig(
            api_key=creds.api_key,
            identifier=creds.identifier,
            password=creds.password,
            rest_url=urls.rest,
            encrypted_password=False,
        )
        client = CapitalComClient(config)
        await client.login()
        stream = CapitalComStream(config, client)
        await stream.__aenter__()
        await stream.subscribe_quotes(EPICS)
        clients.append(client)
        streams.append(stream)

    async def consume(stream: CapitalComStream) -> None:
        async for _ in stream:
            pass

    consumers = [asyncio.create_task(consume(s)) for s in streams]
    counts = _StatsView(streams)
    try:
        return await drive(sim, seconds, counts, n)
    finally:
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
        for stream in streams:
            await stream.__aexit__(None, None, None)
        for client in clients:
            await client.aclose()


class _StatsView(list):
    """`sum(view)` = quotes the CapitalComStream clients have read off their sockets so far."""

    def __init__(self, streams: list[CapitalComStream]) -> None:
        super().__init__()
        self.streams = streams

    def __iter__(self):
        return iter([s.stats.quotes for s in self.streams])


async def reference(n: int, frame_size: int, seconds: float) -> float:
    """Raw websockets: a server pushes same-sized frames to n clients as fast as they drain."""
    payload = json.dumps({"status": "OK", "destination": "quote", "payload": {"pad": "x" * frame_size}})
    payload = payload[: max(frame_size, 2)]
    received = [0] * n
    stop = asyncio.Event()

    async def handler(ws) -> None:
        while not stop.is_set():
            for _ in range(100):
                await ws.send(payload)
            await asyncio.sleep(0)

    async with websockets.serve(handler, "127.0.0.1", 0, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1]

        async def client(i: int) -> None:
            async with websockets.connect(f"ws://127.0.0.1:{port}", max_queue=None) as ws:
                async for _ in ws:
                    received[i] += 1

        tasks = [asyncio.create_task(client(i)) for i in range(n)]
        await asyncio.sleep(0.2)
        start_count, started = sum(received), time.perf_counter()
        await asyncio.sleep(seconds)
        rate = (sum(received) - start_count) / (time.perf_counter() - started)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return rate


async def main(seconds: float) -> None:
    rows = []
    for n in SUBSCRIBERS:
        sim = simulator()
        async with sim.serve() as urls:
            sim_rate = await raw_subscribers(sim, urls, n, seconds)
        ref_rate = await reference(n, raw_subscribers.frame_size, seconds)
        rows.append(("raw websockets", n, sim_rate, ref_rate))
    for n in (1, 10):
        sim = simulator()
        async with sim.serve() as urls:
            rows.append(("CapitalComStream", n, await stream_subscribers(sim, urls, n, seconds), None))

    size = raw_subscribers.frame_size
    print(
        f"quote fan-out, {len(EPICS)} epics/subscriber, ~{size} B frames, {seconds:.0f} s per row, loopback"
    )
    print(f"{'clients':18} {'N':>3} {'quotes/s':>10} {'per sub/s':>10} {'ref msg/s':>10} {'ratio':>6}")
    refs = {n: ref for kind, n, _, ref in rows if ref}
    for kind, n, rate, _ in rows:
        ratio = rate / refs[n]
        print(f"{kind:18} {n:>3} {rate:>10,.0f} {rate / n:>10,.0f} {refs[n]:>10,.0f} {ratio:>6.2f}")
    headline = " ".join(
        f"n{n}_quotes_s={rate:.0f} n{n}_ratio={rate / refs[n]:.2f}" for k, n, rate, _ in rows[:3]
    )
    print(f"RESULT {headline}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per row")
    asyncio.run(main(parser.parse_args().seconds))
