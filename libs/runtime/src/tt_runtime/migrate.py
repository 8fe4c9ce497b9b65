"""Alembic per service, each with its version table in its own schema.

``python -m tt_runtime.migrate upgrade [--service billing]`` runs every (or one) service's
migrations; a service's ``migrations/env.py`` is just ``run_env(metadata)``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, text

from tt_contracts import SERVICES

from .settings import normalise_database_url


def module_of(service: str) -> str:
    return "tt_" + service.replace("-", "_")


def alembic_config(service: str, database_url: str) -> Config:
    package = importlib.import_module(module_of(service))
    script_location = Path(package.__file__).parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", normalise_database_url(database_url).replace("%", "%%"))
    cfg.attributes["schema"] = service.replace("-", "_")
    return cfg


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def downgrade(service: str, database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(service, database_url), revision)


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    config = context.config
    schema = config.attributes.get("schema") or metadata.schema
    url = config.get_main_option("sqlalchemy.url")

    def run(connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _parent: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, version_table_schema=schema, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    # psycopg 3 speaks sync and async with the same URL; sync keeps migrations usable from any
    # caller, including code already inside an event loop.
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        run(conn)
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tt_runtime.migrate", description=__doc__)
    parser.add_argument("command", choices=["upgrade", "downgrade"])
    parser.add_argument("--service", choices=SERVICES, action="append")
    parser.add_argument("--revision", default=None)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("DATABASE_URL is not set")
    for service in args.service or SERVICES:
        if args.command == "upgrade":
            upgrade(service, args.database_url, args.revision or "head")
        else:
            downgrade(service, args.database_url, args.revision or "base")
        print(f"{service:14} {args.command}d")
    return 0


if __name__ == "__main__":
    sys.exit(main())
