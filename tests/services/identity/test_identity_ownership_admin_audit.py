"""Ownership on every user-scoped route, roles checked by identity itself, and the audit log:
append-only, hash-chained, tamper detected."""

import uuid

import pytest
from sqlalchemy import text

from tt_contracts import identity as c
from tt_identity import audit
from tt_identity.testing import identity_settings, running_identity
from tt_runtime.client import RemoteError

PASSWORD = "correct horse 42"


@pytest.fixture
async def two_users(nats_url, database_url, jetstream):
    settings = identity_settings(
        nats_url, database_url, email_enabled=False, identity_bootstrap_admin_email="root@example.test"
    )
    async with running_identity(settings) as idn:
        pairs = {}
        for name in ("alice", "bob"):
            await idn.ask(c.USER_REGISTER, c.RegisterUser(email=f"{name}@example.test", password=PASSWORD))
            pairs[name] = await idn.ask(
                c.USER_AUTHENTICATE, c.AuthenticateUser(email=f"{name}@example.test", password=PASSWORD)
            )
        yield idn, pairs["alice"], pairs["bob"]


async def _fails(idn, route, request, code):
    with pytest.raises(RemoteError) as err:
        await idn.ask(route, request)
    assert err.value.code == code, err.value


async def test_user_a_never_reads_or_changes_user_b(two_users):
    idn, a, b = two_users
    # sessions: B cannot revoke A's session, and sees only B's own
    await _fails(idn, c.SIGN_OUT, c.SignOut(user_id=b.user_id, session_id=a.session_id), "not_found")
    listed = (await idn.ask(c.SESSIONS_LIST, c.ListSessions(user_id=b.user_id))).sessions
    assert [s.session_id for s in listed] == [b.session_id]
    await idn.ask(c.SIGN_OUT, c.SignOut(user_id=b.user_id, everywhere=True))
    assert len((await idn.ask(c.SESSIONS_LIST, c.ListSessions(user_id=a.user_id))).sessions) == 1
    # profile: each request is about its own user_id only
    await idn.ask(
        c.PROFILE_UPDATE,
        c.UpdateProfile(user_id=b.user_id, profile=c.Profile(display_name="Bob", timezone="Europe/Berlin")),
    )
    assert (await idn.ask(c.PROFILE_GET, c.GetProfile(user_id=a.user_id))).email == "alice@example.test"
    assert (await idn.ask(c.PROFILE_GET, c.GetProfile(user_id=a.user_id))).profile.display_name == ""
    # password change needs the user's own current password
    await _fails(
        idn,
        c.PASSWORD_CHANGE,
        c.ChangePassword(
            user_id=a.user_id, current_password="bob's guess 99", new_password="new secret 12345"
        ),
        "unauthorized",
    )
    # audit: B cannot filter A's entries, and by default sees only B's
    await _fails(idn, c.AUDIT_LIST, c.ListAudit(user_id=b.user_id, subject_user_id=a.user_id), "forbidden")
    own = (await idn.ask(c.AUDIT_LIST, c.ListAudit(user_id=b.user_id))).entries
    assert own and {e.subject_user_id for e in own} == {b.user_id}
    # admin routes: denied for traders, checked by identity (not only by the gateway)
    await _fails(idn, c.USERS_LIST, c.ListUsers(user_id=b.user_id), "forbidden")
    await _fails(
        idn,
        c.ROLES_SET,
        c.SetRoles(user_id=b.user_id, target_user_id=b.user_id, roles=["admin"]),
        "forbidden",
    )
    await _fails(idn, c.PROFILE_GET, c.GetProfile(user_id=uuid.uuid4()), "not_found")


async def test_bootstrap_admin_manages_roles_and_reads_any_audit(two_users, nats_url):
    idn, a, b = two_users
    await idn.ask(c.USER_REGISTER, c.RegisterUser(email="root@example.test", password=PASSWORD))
    assert (await idn.ask(c.PROFILE_GET, c.GetProfile(user_id=a.user_id))).roles == ["trader"]
    async with idn.runtime.db.sessions() as s:
        root_id = (
            await s.execute(text("SELECT id FROM identity.users WHERE email='root@example.test'"))
        ).scalar_one()
        assert (
            await s.execute(text("SELECT roles FROM identity.users WHERE id=:i"), {"i": root_id})
        ).scalar_one() == ["trader"], "admin only once the address is proven"
    async with idn.runtime.unit_of_work() as uow:
        token = await idn.service.email_token(uow, root_id, "verify_email", 600)
    await idn.ask(c.EMAIL_VERIFY, c.VerifyEmail(token=token))
    root = await idn.ask(
        c.USER_AUTHENTICATE, c.AuthenticateUser(email="root@example.test", password=PASSWORD)
    )
    assert root.roles == ["trader", "admin"]
    await idn.ask(
        c.ROLES_SET, c.SetRoles(user_id=root.user_id, target_user_id=b.user_id, roles=["trader", "support"])
    )
    users = await idn.ask(c.USERS_LIST, c.ListUsers(user_id=b.user_id, query="example.test"))
    assert users.total == 3 and {u.email for u in users.users} >= {"alice@example.test"}
    await _fails(
        idn,
        c.ROLES_SET,
        c.SetRoles(user_id=b.user_id, target_user_id=b.user_id, roles=["admin"]),
        "forbidden",
    )
    others = await idn.ask(c.AUDIT_LIST, c.ListAudit(user_id=b.user_id, subject_user_id=a.user_id))
    assert others.chain_valid and {e.subject_user_id for e in others.entries} == {a.user_id}
    await _fails(
        idn,
        c.ROLES_SET,
        c.SetRoles(user_id=root.user_id, target_user_id=root.user_id, roles=["trader"]),
        "conflict",
    )
    async with idn.runtime.db.sessions() as s:
        subjects = (await s.execute(text("SELECT subject FROM identity.outbox"))).scalars().all()
    assert subjects.count("identity.evt.user.role-changed.v1") == 2


async def test_audit_log_is_append_only_and_tampering_is_detected(two_users):
    idn, a, _b = two_users
    async with idn.runtime.db.sessions() as s:
        checked, bad = await audit.verify(s)
    assert checked >= 4 and bad is None
    for statement in (
        "UPDATE identity.audit_log SET action = 'x' WHERE seq = 2",
        "DELETE FROM identity.audit_log WHERE seq = 2",
    ):
        with pytest.raises(Exception, match="append-only"):
            async with idn.runtime.db.sessions() as s, s.begin():
                await s.execute(text(statement))
    # The owner switches the triggers off and rewrites history: the chain notices.
    async with idn.runtime.db.sessions() as s, s.begin():
        await s.execute(text("SET LOCAL session_replication_role = replica"))
        await s.execute(text("UPDATE identity.audit_log SET ip = '198.51.100.7' WHERE seq = 2"))
    async with idn.runtime.db.sessions() as s:
        _, bad = await audit.verify(s)
    assert bad == 2
    reply = await idn.ask(c.AUDIT_LIST, c.ListAudit(user_id=a.user_id))
    assert any(e.seq == 2 for e in reply.entries) and reply.chain_valid is False


async def test_password_reset_request_never_enumerates_and_reset_revokes_sessions(two_users):
    idn, a, _b = two_users
    unknown = await idn.ask(c.PASSWORD_RESET_REQUEST, c.RequestPasswordReset(email="ghost@example.test"))
    known = await idn.ask(c.PASSWORD_RESET_REQUEST, c.RequestPasswordReset(email="alice@example.test"))
    assert unknown.model_dump(exclude={"message_id"}) == known.model_dump(exclude={"message_id"})
    async with idn.runtime.unit_of_work() as uow:
        token = await idn.service.email_token(uow, a.user_id, "reset_password", 600)
    await _fails(idn, c.PASSWORD_RESET, c.ResetPassword(token=token, new_password="password1"), "invalid")
    await idn.ask(c.PASSWORD_RESET, c.ResetPassword(token=token, new_password="brand new secret 7"))
    await _fails(
        idn, c.PASSWORD_RESET, c.ResetPassword(token=token, new_password="another secret 8"), "invalid"
    )
    await _fails(idn, c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=a.refresh_token), "unauthorized")
    await idn.ask(
        c.USER_AUTHENTICATE, c.AuthenticateUser(email="alice@example.test", password="brand new secret 7")
    )


async def test_change_password_keeps_the_current_session_only(two_users):
    idn, a, _b = two_users
    other = await idn.ask(
        c.USER_AUTHENTICATE, c.AuthenticateUser(email="alice@example.test", password=PASSWORD)
    )
    await idn.ask(
        c.PASSWORD_CHANGE,
        c.ChangePassword(
            user_id=a.user_id,
            current_password=PASSWORD,
            new_password="changed secret 99",
            keep_session_id=a.session_id,
        ),
    )
    await idn.ask(c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=a.refresh_token))
    await _fails(idn, c.TOKEN_REFRESH, c.RefreshTokens(refresh_token=other.refresh_token), "unauthorized")
    actions = [e.action for e in (await idn.ask(c.AUDIT_LIST, c.ListAudit(user_id=a.user_id))).entries]
    assert "password.changed" in actions
