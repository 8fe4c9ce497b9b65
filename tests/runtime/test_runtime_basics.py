"""Settings, stream provisioning, migrations and tracing across a NATS hop."""

from uuid import uuid4

import psycopg
import pytest
from opentelemetry import trace
from pydantic import SecretStr, ValidationError

from tt_contracts import SERVICES, STREAMS, registry
from tt_contracts.identity import UserRegistered
from tt_runtime.bus import Handlers
from tt_runtime.service import ServiceRuntime
from tt_runtime.settings import RuntimeSettings
from tt_runtime.streams import apply_streams
from tt_runtime.testing import running, service_settings, wait_until


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_placeholder_secrets_are_refused_outside_local_environments(environment):
    with pytest.raises(ValidationError, match="SECRET_KEY is a placeholder"):
        RuntimeSettings(service_name="billing", environment=environment)
    real = RuntimeSettings(service_name="billing", environment=environment, secret_key=SecretStr("x" * 40))
    assert real.secret_key.get_secret_value() == "x" * 40


def test_local_environments_accept_placeholders_and_urls_are_normalised():
    settings = RuntimeSettings(service_name="market-data", database_url="postgres://u@h:5432/db")
    assert settings.database_url == "postgresql+psycopg://u@h:5432/db"
    assert settings.db_schema == "market_data"
    with pytest.raises(ValueError, match="postgresql://"):
        RuntimeSettings(service_name="billing", database_url="mysql://x")


async def test_stream_provisioning_is_idempotent_and_repairs_drift(jetstream):
    assert set((await apply_streams(jetstream)).values()) == {"unchanged"}
    info = await jetstream.stream_info("BILLING_EVT")
    info.config.max_age = 7 * 24 * 3600.0  # someone shortened retention by hand
    await jetstream.update_stream(info.config)
    outcome = await apply_streams(jetstream)
    assert outcome["BILLING_EVT"] == "updated"
    assert list(outcome.values()).count("unchanged") == len(STREAMS) - 1
    quotes = (await jetstream.stream_info("MARKET_DATA_QUOTES")).config
    assert quotes.max_msgs_per_subject == 1 and quotes.storage == "memory"
    broker_cmd = (await jetstream.stream_info("BROKER_CMD")).config
    assert broker_cmd.retention == "workqueue" and broker_cmd.max_age <= 60


async def test_each_service_keeps_its_migration_history_in_its_own_schema(database_url):
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        query = "SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version'"
        rows = await (await conn.execute(query)).fetchall()
        assert sorted(r[0] for r in rows) == sorted(s.replace("-", "_") for s in SERVICES)
        public = await (
            await conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        ).fetchone()
        assert public[0] == 0


async def test_trace_context_crosses_the_outbox_hop(nats_url, database_url, jetstream):
    seen = []
    identity = ServiceRuntime(service_settings("identity", nats_url, database_url))
    billing = ServiceRuntime(service_settings("billing", nats_url, database_url))
    handlers = Handlers("billing")

    @handlers.consume(registry.USER_REGISTERED)
    async def on_registered(event: UserRegistered, uow) -> None:
        seen.append(trace.get_current_span().get_span_context().trace_id)

    billing.include(handlers)
    tracer = identity.telemetry.tracer_provider.get_tracer("test")
    async with running(identity, billing):
        with tracer.start_as_current_span("sign-up") as span:
            trace_id = span.get_span_context().trace_id
            async with identity.unit_of_work() as uow:
                await uow.publish(
                    registry.USER_REGISTERED, UserRegistered(user_id=uuid4(), email="t@example.com")
                )
        await wait_until(lambda: seen, timeout=10)
    assert seen == [trace_id], "the consumer's span belongs to the producer's trace"
