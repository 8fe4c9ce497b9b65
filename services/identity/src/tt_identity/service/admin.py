"""Roles, the user list and the audit log, with the role checks done here (not only at the gateway)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select, update

from tt_contracts import identity as c
from tt_runtime.errors import ConflictError, ForbiddenError, NotFoundError

from .. import audit, domain
from ..models import audit_log, users
from ..repository import user_by_id
from .federation import Federation


class Admin(Federation):
    async def _caller_roles(self, session: Any, user_id: UUID) -> list[str]:
        row = await user_by_id(session, user_id)
        if row is None:
            raise ForbiddenError("not allowed")
        return list(row.roles)

    async def list_users(self, req: c.ListUsers) -> c.UsersReply:
        async with self.runtime.db.sessions() as session:
            if not domain.can_list_users(await self._caller_roles(session, req.user_id)):
                raise ForbiddenError("not allowed")
            conds = []
            if req.query:
                like = f"%{req.query.lower()}%"
                conds.append(
                    or_(users.c.email.like(like), users.c.profile["display_name"].astext.ilike(like))
                )
            total = (
                await session.execute(select(func.count()).select_from(users).where(*conds))
            ).scalar_one()
            rows = await session.execute(
                select(users)
                .where(*conds)
                .order_by(users.c.created_at, users.c.id)
                .limit(req.limit)
                .offset(req.offset)
            )
            return c.UsersReply(
                users=[
                    c.UserSummary(
                        user_id=r.id,
                        email=r.email,
                        display_name=(r.profile or {}).get("display_name", ""),
                        roles=list(r.roles),
                        email_verified=r.email_verified,
                        created_at=r.created_at,
                        locked_until=r.locked_until,
                    )
                    for r in rows
                ],
                total=int(total),
            )

    async def set_roles(self, req: c.SetRoles) -> c.Ack:
        roles = domain.normalise_roles(list(req.roles))
        async with self.uow() as uow:
            caller = await user_by_id(uow.session, req.user_id)
            if caller is None or not domain.can_set_roles(list(caller.roles)):
                await self.audit(
                    uow,
                    "roles.change_denied",
                    actor=req.user_id,
                    subject=req.target_user_id,
                    outcome="denied",
                )
                denied = True
            else:
                denied = False
                target = await user_by_id(uow.session, req.target_user_id, lock=True)
                if target is None:
                    raise NotFoundError("no such user")
                if "admin" in target.roles and "admin" not in roles:
                    admins = (
                        await uow.execute(
                            select(func.count()).select_from(users).where(users.c.roles.any("admin"))
                        )
                    ).scalar_one()
                    if admins <= 1:
                        raise ConflictError("the last admin cannot lose the admin role")
                await uow.execute(update(users).where(users.c.id == target.id).values(roles=roles))
                await self.audit(
                    uow,
                    "roles.changed",
                    actor=req.user_id,
                    subject=target.id,
                    detail={"roles": ",".join(roles), "previous": ",".join(target.roles)},
                )
                await uow.publish(
                    c.ROLE_CHANGED, c.UserRoleChanged(user_id=target.id, roles=roles, changed_by=req.user_id)
                )
        if denied:
            raise ForbiddenError("not allowed")
        return c.Ack()

    async def list_audit(self, req: c.ListAudit) -> c.AuditReply:
        async with self.runtime.db.sessions() as session:
            privileged = domain.can_read_any_audit(await self._caller_roles(session, req.user_id))
            subject = req.subject_user_id
            if not privileged:
                if subject is not None and subject != req.user_id:
                    raise ForbiddenError("not allowed")
                subject = req.user_id
            conds = []
            if subject is not None:
                conds.append(audit_log.c.subject_user_id == subject)
            if req.action:
                conds.append(audit_log.c.action == req.action)
            if req.since:
                conds.append(audit_log.c.at >= req.since)
            if req.until:
                conds.append(audit_log.c.at < req.until)
            rows = (
                await session.execute(
                    select(audit_log).where(*conds).order_by(audit_log.c.seq.desc()).limit(req.limit)
                )
            ).all()
        valid = all(audit.row_valid(r) for r in rows)
        # Neighbouring rows of the returned range must also link up.
        for newer, older in pairwise(rows):
            if newer.seq == older.seq + 1 and newer.prev_hash != older.hash:
                valid = False
        return c.AuditReply(
            entries=[
                c.AuditEntry(
                    seq=r.seq,
                    at=r.at,
                    action=r.action,
                    actor_user_id=r.actor_user_id,
                    subject_user_id=r.subject_user_id,
                    ip=r.ip,
                    detail=dict(r.detail or {}),
                    hash=r.hash,
                )
                for r in rows
            ],
            chain_valid=valid,
        )
