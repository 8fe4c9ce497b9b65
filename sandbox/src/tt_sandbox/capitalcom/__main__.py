"""`python -m tt_sandbox.capitalcom --host 127.0.0.1 --port 8201 --speed 60`"""

from __future__ import annotations

import argparse
from dataclasses import replace

import uvicorn

from .config import SimulatorConfig
from .simulator import DEMO_USERS, Simulator


def parse(argv: list[str] | None = None) -> tuple[argparse.Namespace, SimulatorConfig]:
    parser = argparse.ArgumentParser(prog="python -m tt_sandbox.capitalcom", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8201)
    parser.add_argument("--speed", type=float, default=1.0, help="sim seconds per wall second; 1 = real time")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-rate-limits", action="store_true", help="switch every rate limit off")
    args = parser.parse_args(argv)

    defaults = SimulatorConfig()
    config = SimulatorConfig(
        seed=args.seed,
        clock="real" if args.speed == 1 else "accelerated",
        speed=args.speed,
        streaming_host=f"ws://{args.host}:{args.port}/",
        # Clients keep their sessions and streams alive on wall time (a ping every few minutes): on a
        # faster clock the venue's timeouts must last as long in wall time, or every session would
        # expire within seconds. The market still moves `speed` times faster.
        session_idle_timeout=defaults.session_idle_timeout * args.speed,
        session_hard_cap=defaults.session_hard_cap * args.speed if defaults.session_hard_cap else None,
        ws_ping_timeout=defaults.ws_ping_timeout * args.speed,
    )
    if args.no_rate_limits:
        from .config import RateLimits

        config = replace(config, rate_limits=RateLimits(None, None, None, None, None, None))
    return args, config


def main(argv: list[str] | None = None) -> None:
    args, config = parse(argv)
    sim = Simulator(config)
    print(
        f"Capital.com sandbox on http://{args.host}:{args.port}/api/v1 (stream ws://{args.host}:{args.port}/connect)"
    )
    for identifier, password, api_key, currency, *_ in DEMO_USERS:
        print(f"  demo user {identifier} / {password}  X-CAP-API-KEY: {api_key}  ({currency})")
    uvicorn.run(sim.app, host=args.host, port=args.port, log_level="info", ws_ping_interval=None)


if __name__ == "__main__":
    main()
