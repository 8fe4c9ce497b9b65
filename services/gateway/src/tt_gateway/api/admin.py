"""``/api/v1/admin``: users, roles and the audit log. The gateway checks the role; identity checks it
again, since the gateway is not the only line of defence."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from tt_contracts import identity as idm
from tt_contracts import registry

from ..deps import CurrentUser, Principal, RuntimeDep, require_role
from .errors import http_error

router = APIRouter(prefix="/admin", tags=["admin"])
STAFF = require_role("admin", "support")
ADMIN = require_role("admin")


async def _ask(runtime, route, message):
    try:
        return await runtime.ask(route, message)
    except Exception as exc:
        raise http_error(exc) from exc


@router.get("/users", response_model=idm.UsersReply)
async def users(
    runtime: RuntimeDep, query: str = "", limit: int = 50, offset: int = 0, staff: Principal = STAFF
):
    return await _ask(
        runtime,
        registry.USERS_LIST,
        idm.ListUsers(user_id=staff.user_id, query=query, limit=limit, offset=offset, producer="gateway"),
    )


class RolesBody(BaseModel):
    roles: list[idm.Role]


@router.put("/users/{target_user_id}/roles", status_code=204)
async def set_roles(
    target_user_id: UUID, body: RolesBody, runtime: RuntimeDep, admin: Principal = ADMIN
) -> None:
    await _ask(
        runtime,
        registry.ROLES_SET,
        idm.SetRoles(
            user_id=admin.user_id, target_user_id=target_user_id, roles=body.roles, producer="gateway"
        ),
    )


@router.get("/audit", response_model=idm.AuditReply)
async def audit(
    runtime: RuntimeDep,
    user: CurrentUser,
    subject_user_id: UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
):
    """Users see their own entries; admin and support may filter any user (identity enforces it)."""
    return await _ask(
        runtime,
        registry.AUDIT_LIST,
        idm.ListAudit(
            user_id=user.user_id,
            subject_user_id=subject_user_id,
            action=action,
            since=since,
            until=until,
            limit=limit,
            producer="gateway",
        ),
    )
