"""The development demo trader: created verified at start, once, and refused outside development."""

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import text

from tt_contracts import identity as c
from tt_identity.settings import Settings
from tt_identity.testing import identity_settings, running_identity
from tt_sandbox.smtp import SmtpSink

EMAIL, PASSWORD = "trader@tradetracker.local", "Sandbox-Pass-2026"


async def test_the_demo_trader_can_sign_in_at_once_and_is_created_only_once(
    nats_url, database_url, jetstream
):
    with SmtpSink() as sink:
        settings = identity_settings(
            nats_url,
            database_url,
            smtp_port=sink.port,
            identity_demo_user_email=EMAIL,
            identity_demo_user_password=PASSWORD,
        )
        for _ in range(2):  # a restart finds the user and leaves it alone
            async with running_identity(settings) as idn:
                pair = await idn.ask(
                    c.USER_AUTHENTICATE,
                    c.AuthenticateUser(email=EMAIL, password=PASSWORD, client=c.ClientContext(ip="10.0.0.9")),
                )
                assert isinstance(pair, c.TokenPair)
                profile = await idn.ask(c.PROFILE_GET, c.GetProfile(user_id=pair.user_id))
                assert profile.email_verified and profile.profile.display_name == "Demo Trader"
        async with idn.runtime.db.engine.connect() as conn:
            users = (
                await conn.execute(text("select count(*) from identity.users where email = :e"), {"e": EMAIL})
            ).scalar_one()
        assert users == 1
    info = await jetstream.stream_info("IDENTITY_EVT")
    assert info.state.messages >= 1  # user.registered went out through the normal path


async def test_a_seed_interrupted_before_verification_is_finished_on_the_next_start(
    nats_url, database_url, jetstream
):
    with SmtpSink() as sink:
        plain = identity_settings(nats_url, database_url, smtp_port=sink.port)
        async with running_identity(plain) as idn:  # registered, never verified
            await idn.ask(c.USER_REGISTER, c.RegisterUser(email=EMAIL, password=PASSWORD))
        seeded = plain.model_copy(
            update={"identity_demo_user_email": EMAIL, "identity_demo_user_password": SecretStr(PASSWORD)}
        )
        async with running_identity(seeded) as idn:
            pair = await idn.ask(
                c.USER_AUTHENTICATE,
                c.AuthenticateUser(email=EMAIL, password=PASSWORD, client=c.ClientContext(ip="10.0.0.9")),
            )
            profile = await idn.ask(c.PROFILE_GET, c.GetProfile(user_id=pair.user_id))
            assert profile.email_verified


def test_a_demo_trader_is_refused_outside_development():
    with pytest.raises(ValidationError, match="IDENTITY_DEMO_USER_EMAIL"):
        Settings(
            environment="production",
            identity_demo_user_email=EMAIL,
            identity_demo_user_password=PASSWORD,
            identity_key_encryption_key="a-real-key-encryption-key-0123456789",
            secret_key="a-real-secret-key-for-production-0123456789",
        )
