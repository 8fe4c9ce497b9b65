"""Register, sign in, tokens, refresh rotation and reuse detection, sessions — over the bus."""

import asyncio
import re
import time

import jwt
import pytest
from sqlalchemy import text

from tt_contracts import identity as c
from tt_identity.testing import identity_settings, running_identity
from tt_runtime.client import RemoteError
from tt_sandbox.smtp import SmtpSink

PASSWORD = "correct horse 42"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def settings(nats_url, database_url, smtp):
    return identity_settings(nats_url, database_url, smtp_port=smtp.port)


async def _register(idn, email, password=PASSWORD):
    return await idn.ask(c.USER_REGISTER, c.RegisterUser(email=email, password=password, display_name="A"))


async def _sign_in(idn, email, password=PASSWORD, ip="10.0.0.1"):
    return await idn.ask(
        c.USER_AUTHENTICATE,
        c.AuthenticateUser(email=email, password=password, client=c.ClientContext(ip=ip, user_agent=UA)),
    )


async def _jwks(idn):
    return {k["kid"]: k for k in (await idn.ask(c.JWKS_GET, c.GetJwks())).keys}


def _claims(token, jwks):
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(
        token,
        jwt.PyJWK(jwks[kid]).key,
        algorithms=["EdDSA"],
        audience="platform-gateway",
        issuer="identity",
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
    )


async def test_register_writes_the_event_and_emails_a_verification_link(settings, smtp, jetstream):
    async with running_identity(settings) as idn:
        reply = await _register(idn, "Alice@Example.test")
        async with idn.runtime.db.sessions() as s:
            outbox = (await s.execute(text("SELECT subject, payload FROM identity.outbox"))).all()
        assert [r.subject for r in outbox] == ["identity.evt.user.registered.v1"]
        assert str(reply.user_id) in bytes(outbox[0].payload).decode()
        await idn.service.drain()
        mail = smtp.wait_for(lambda m: m.to == ["alice@example.test"], timeout=5)
        token = re.search(r"http://gateway\.test/verify-email\?token=([\w-]+)", mail.text).group(1)
        await idn.ask(c.EMAIL_VERIFY, c.VerifyEmail(token=token))
        profile = await idn.ask(c.PROFILE_GET, c.GetProfile(user_id=reply.user_id))
        assert profile.email_verified and profile.roles == ["trader"]
        with pytest.raises(RemoteError) as reused:
            await idn.ask(c.EMAIL_VERIFY, c.VerifyEmail(token=token))
        assert reused.value.code == "invalid", "a verification token works once"


async def test_weak_passwords_are_refused(settings, jetstream):
    async with running_identity(settings) as idn:
        for weak in ("short1!", "abcdefghijkl", "password123!", "Qwerty123456"):
            with pytest.raises(RemoteError) as err:
                await _register(idn, "bob@example.test", weak)
            assert err.value.code == "invalid" and "password" in str(err.value)


async def test_sign_in_issues_a_verifiable_eddsa_token(settings, jetstream):
    async with running_identity(settings) as idn:
        user = await _register(idn, "carol@example.test")
        pair = await _sign_in(idn, "carol@example.test")
        assert pair.user_id == user.user_id and pair.roles == ["trader"] and pair.expires_in == 600
        header = jwt.get_unverified_header(pair.access_token)
        assert header["alg"] == "EdDSA" and header["typ"] == "at+jwt"
        claims = _claims(pair.access_token, await _jwks(idn))
        assert claims["sub"] == str(user.user_id) and claims["sid"] == str(pair.session_id)
        assert claims["roles"] == ["trader"] and claims["exp"] - claims["iat"] == 600


async def test_unknown_user_and_wrong_password_get_identical_replies(settings, jetstream):
    async with running_identity(settings) as idn:
        await _register(idn, "dave@example.test")
        replies, timings = [], []
        for email, password in [
            ("dave@example.test", "wrong password 1"),
            ("nobody@example.test", PASSWORD),
        ] * 2:
            started = time.perf_counter()
            with pytest.raises(RemoteError) as err:
                await _sign_in(idn, email, password, ip=None)
            timings.append(time.perf_counter() - started)
            replies.append((err.value.code, str(err.value.detail.message), err.value.detail.retryable))
        assert len(set(replies)) == 1 and replies[0][0] == "unauthorized"
        async with idn.runtime.db.sessions() as s:
            actions = (
                await s.execute(text("SELECT detail->>'reason' FROM identity.audit_log ORDER BY seq"))
            ).all()
        assert [a[0] for a in actions if a[0]] == ["bad-password", "unknown-user"] * 2


async def test_lockout_engages_after_repeated_failures_and_is_visible_to_admins(settings, jetstream):
    async with running_identity(settings) as idn:
        await _register(idn, "erin@example.test")
        for _ in range(5):
            with pytest.raises(RemoteError) as err:
                await _sign_in(idn, "erin@example.test", "wrong password 1", ip=None)
            assert err.value.code == "unauthorized"
        with pytest.raises(RemoteError) as locked:
            await _sign_in(idn, "erin@example.test", ip=None)  # even the right password now waits
        assert locked.value.code == "rate_limited" and "erin" not in str(locked.value)
        async with idn.runtime.db.sessions() as s:
            until = (await s.execute(text("SELECT locked_until FROM identity.users"))).scalar_one()
        assert until is not None


async def test_per_ip_window_limits_failures_across_accounts(nats_url, database_url, jetstream):
    settings = identity_settings(nats_url, database_url, ip_max_failures=3, email_enabled=False)
    async with running_identity(settings) as idn:
        for i in range(3):
            with pytest.raises(RemoteError):
                await _sign_in(idn, f"spray{i}@example.test", ip="203.0.113.9")
        with pytest.raises(RemoteError) as err:
            await _sign_in(idn, "spray9@example.test", ip="203.0.113.9")
        assert err.value.code == "rate_limited"
        with pytest.raises(RemoteError) as other_ip:
            await _sign_in(idn, "spray9@example.test", ip="203.0.113.10")
        assert other_ip.value.code == "unauthorized"


async def test_refresh_rotates_and_reuse_revokes_the_family(settings, jetstream):
    async with running_identity(settings) as idn:
        await _register(idn, "frank@example.test")
        first = await _sign_in(idn, "frank@example.test")
        second = await idn.ask(c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=first.refresh_token))
        assert second.refresh_token != first.refresh_token and second.session_id == first.session_id
        # Two tabs at once: within the grace the old token returns the same successor.
        again = await idn.ask(c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=first.refresh_token))
        assert again.refresh_token == second.refresh_token
        third = await idn.ask(c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=second.refresh_token))
        # After the grace a rotated token is a replay: the whole family goes.
        async with idn.runtime.db.sessions() as s, s.begin():
            await s.execute(
                text("UPDATE identity.refresh_tokens SET used_at = used_at - interval '1 minute'")
            )
        with pytest.raises(RemoteError) as err:
            await idn.ask(c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=first.refresh_token))
        assert err.value.code == "unauthorized"
        with pytest.raises(RemoteError):
            await idn.ask(c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=third.refresh_token))
        assert (await idn.ask(c.SESSIONS_LIST, c.ListSessions(user_id=first.user_id))).sessions == []
        async with idn.runtime.db.sessions() as s:
            subjects = (await s.execute(text("SELECT subject FROM identity.outbox"))).scalars().all()
            actions = (await s.execute(text("SELECT action FROM identity.audit_log"))).scalars().all()
        assert "identity.evt.session.revoked.v1" in subjects and "auth.refresh.reuse_detected" in actions


async def test_parallel_refreshes_of_one_token_yield_one_successor(settings, jetstream):
    async with running_identity(settings) as idn:
        await _register(idn, "gina@example.test")
        pair = await _sign_in(idn, "gina@example.test")
        replies = await asyncio.gather(
            *[idn.ask(c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=pair.refresh_token)) for _ in range(4)]
        )
        assert len({r.refresh_token for r in replies}) == 1


async def test_refresh_idle_expiry(settings, jetstream):
    async with running_identity(settings) as idn:
        await _register(idn, "hank@example.test")
        pair = await _sign_in(idn, "hank@example.test")
        async with idn.runtime.db.sessions() as s, s.begin():
            await s.execute(
                text("UPDATE identity.refresh_tokens SET idle_expires_at = now() - interval '1 s'")
            )
        with pytest.raises(RemoteError) as err:
            await idn.ask(c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=pair.refresh_token))
        assert err.value.code == "unauthorized"


async def test_sessions_list_and_revoke(settings, jetstream):
    async with running_identity(settings) as idn:
        await _register(idn, "ivy@example.test")
        one = await _sign_in(idn, "ivy@example.test")
        two = await _sign_in(idn, "ivy@example.test")
        listed = (await idn.ask(c.SESSIONS_LIST, c.ListSessions(user_id=one.user_id))).sessions
        assert {s.session_id for s in listed} == {one.session_id, two.session_id}
        assert listed[0].device == "Firefox on Linux" and listed[0].ip == "10.0.0.1"
        await idn.ask(c.SIGN_OUT, c.SignOut(user_id=one.user_id, session_id=one.session_id))
        with pytest.raises(RemoteError):
            await idn.ask(c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=one.refresh_token))
        await idn.ask(c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=two.refresh_token))
        await idn.ask(c.SIGN_OUT, c.SignOut(user_id=one.user_id, everywhere=True))
        assert (await idn.ask(c.SESSIONS_LIST, c.ListSessions(user_id=one.user_id))).sessions == []


async def test_key_rotation_keeps_two_keys_valid(settings, jetstream):
    async with running_identity(settings) as idn:
        await _register(idn, "jack@example.test")
        before = await _sign_in(idn, "jack@example.test")
        async with idn.runtime.db.sessions() as s, s.begin():
            await idn.service.keys.rotate(s)
        after = await _sign_in(idn, "jack@example.test")
        jwks = await _jwks(idn)
        assert len(jwks) == 2
        old_kid = jwt.get_unverified_header(before.access_token)["kid"]
        new_kid = jwt.get_unverified_header(after.access_token)["kid"]
        assert old_kid != new_kid and {old_kid, new_kid} == set(jwks)
        assert _claims(before.access_token, jwks)["sub"] == _claims(after.access_token, jwks)["sub"]
        async with idn.runtime.db.sessions() as s:
            stored = (
                await s.execute(text("SELECT private_key_encrypted FROM identity.signing_keys"))
            ).scalars()
            assert all(b"PRIVATE" not in bytes(k) and len(bytes(k)) > 48 for k in stored)


def test_placeholder_key_encryption_key_is_refused_outside_dev():
    from pydantic import ValidationError

    from tt_identity.settings import Settings

    with pytest.raises(ValidationError, match="IDENTITY_KEY_ENCRYPTION_KEY is a placeholder"):
        Settings(environment="production", secret_key="a-real-secret-0123456789")
    Settings(
        environment="production", secret_key="a-real-secret-0123456789", identity_key_encryption_key="k" * 40
    )


async def test_registered_event_reaches_the_stream(settings, jetstream):
    async with running_identity(settings) as idn:
        await _register(idn, "kim@example.test")
        sub = await jetstream.subscribe("identity.evt.user.registered.v1", stream="IDENTITY_EVT")
        msg = await sub.next_msg(timeout=5)
        assert b"kim@example.test" in msg.data
