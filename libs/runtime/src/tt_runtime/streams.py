"""Idempotent stream provisioning from the contracts registry: ``python -m tt_runtime.streams apply``.

Services bind to streams without declaring them; this step (a make target, a Kubernetes Job, the
test fixtures) is the only place streams are created or updated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import nats
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from tt_contracts import STREAMS, StreamSpec


def stream_config(spec: StreamSpec) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        description=spec.description or None,
        retention=RetentionPolicy(spec.retention),
        storage=StorageType(spec.storage),
        max_age=spec.max_age_seconds,
        duplicate_window=spec.duplicate_window_seconds,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        discard=DiscardPolicy(spec.discard),
        num_replicas=int(os.environ.get("NATS_STREAM_REPLICAS", "1")),
    )


async def apply_streams(js, specs: tuple[StreamSpec, ...] = STREAMS) -> dict[str, str]:
    """Create missing streams and update changed ones. Returns ``{name: created|updated|unchanged}``."""
    outcome: dict[str, str] = {}
    for spec in specs:
        wanted = stream_config(spec)
        try:
            current = (await js.stream_info(spec.name)).config
        except NotFoundError:
            await js.add_stream(wanted)
            outcome[spec.name] = "created"
            continue
        if _differs(current, wanted):
            await js.update_stream(wanted)
            outcome[spec.name] = "updated"
        else:
            outcome[spec.name] = "unchanged"
    return outcome


def _differs(current: StreamConfig, wanted: StreamConfig) -> bool:
    fields = (
        "subjects",
        "retention",
        "storage",
        "max_age",
        "duplicate_window",
        "max_msgs_per_subject",
        "discard",
    )
    return any(
        (sorted(getattr(current, f)) if f == "subjects" else getattr(current, f))
        != (sorted(getattr(wanted, f)) if f == "subjects" else getattr(wanted, f))
        for f in fields
    )


async def _main(url: str) -> int:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=2)
    try:
        outcome = await apply_streams(nc.jetstream())
    finally:
        await nc.close()
    for name, what in outcome.items():
        print(f"{name:24} {what}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tt_runtime.streams", description=__doc__)
    parser.add_argument("command", choices=["apply", "list"])
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    args = parser.parse_args(argv)
    if args.command == "list":
        for spec in STREAMS:
            print(f"{spec.name:24} {spec.retention:9} {spec.storage:6} {', '.join(spec.subjects)}")
        return 0
    return asyncio.run(_main(args.nats_url))


if __name__ == "__main__":
    sys.exit(main())
