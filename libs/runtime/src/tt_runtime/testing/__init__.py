"""Test helpers: real NATS and Postgres for every test (see ``infra`` and the pytest plugin ``fixtures``)."""

from .infra import LocalNatsServer, LocalPostgres, free_port, resolve_infrastructure

__all__ = ["LocalNatsServer", "LocalPostgres", "free_port", "resolve_infrastructure"]
