"""Test helpers: real NATS and Postgres for every test (see ``infra`` and the pytest plugin ``fixtures``)."""

from ..local_servers import LocalNatsServer, LocalPostgres, free_port, resolve_infrastructure

__all__ = ["LocalNatsServer", "LocalPostgres", "free_port", "resolve_infrastructure"]

from .probe import EffectProbe, publish_many
from .services import running, service_settings, serving, wait_until

__all__ += ["EffectProbe", "publish_many", "running", "service_settings", "serving", "wait_until"]
