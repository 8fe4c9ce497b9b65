"""Key-encryption key maintenance: ``python -m tt_broker.keys rotate`` re-wraps every data key under
BROKER_ACTIVE_KEK; ``status`` counts credentials per key id (retire a key once its count is 0)."""

from __future__ import annotations

import argparse
import asyncio
import json

from sqlalchemy.ext.asyncio import create_async_engine

from .crypto import KeyRing
from .service.accounts import kek_usage, rotate
from .settings import Settings


async def run(command: str, settings: Settings) -> dict[str, object]:
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            if command == "rotate":
                keyring = KeyRing(settings.keks(), settings.broker_active_kek)
                changed = await rotate(conn, keyring)
                return {"rewrapped": changed, "active": keyring.active, "usage": await kek_usage(conn)}
            return {"active": settings.broker_active_kek, "usage": await kek_usage(conn)}
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tt_broker.keys")
    parser.add_argument("command", choices=["rotate", "status"])
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args.command, Settings()))))


if __name__ == "__main__":
    main()
