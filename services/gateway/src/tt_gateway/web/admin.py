"""Admin and support: users (roles editable by admins) and the audit log with filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from tt_contracts import registry
from tt_contracts.identity import AuditReply, ListAudit, ListUsers, SetRoles, UsersReply
from tt_runtime.client import RemoteError, ServiceUnavailable

from ..deps import PageUser, Principal, RuntimeDep
from .forms import error_text, see_other
from .shell import STAFF_ROLES, shell
from .templating import render

router = APIRouter(include_in_schema=False)
CALL_ERRORS = (RemoteError, ServiceUnavailable, ValidationError)
ROLES = ["trader", "support", "admin"]
PAGE = 50
TABS = [("/admin", "Users"), ("/admin/audit", "Audit log")]


def forbidden(request: Request, user: Principal) -> Response:
    """Signed in but not staff: an honest 403 page (the API answers 403 JSON)."""
    return render(
        request,
        "app/error.html",
        {"user": user, "heading": "Not available", "message": "This area is for administrators and support."},
        status_code=403,
    )


@router.get("/admin", response_class=HTMLResponse)
async def users(
    request: Request, runtime: RuntimeDep, user: PageUser, q: str = "", page: int = 1
) -> Response:
    if not user.has_role(*STAFF_ROLES):
        return forbidden(request, user)
    page = max(1, page)
    ctx = {
        **await shell(runtime, user),
        "tabs": TABS,
        "q": q,
        "page": page,
        "roles": ROLES,
        "can_edit": "admin" in user.roles,
        "users": [],
        "total": 0,
        "pages": 1,
    }
    ctx["notice"] = "Roles saved." if request.query_params.get("saved") else None
    try:
        reply = await runtime.ask(
            registry.USERS_LIST,
            ListUsers(
                producer="gateway", user_id=user.user_id, query=q[:200], limit=PAGE, offset=(page - 1) * PAGE
            ),
        )
        assert isinstance(reply, UsersReply)
        ctx.update(users=reply.users, total=reply.total, pages=max(1, -(-reply.total // PAGE)))
    except CALL_ERRORS as exc:
        ctx["error"] = error_text(exc)
    return render(request, "admin/users.html", ctx)


@router.post("/admin/users/{target}/roles")
async def set_roles(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    target: UUID,
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI form default
) -> Response:
    if not user.has_role("admin"):
        return forbidden(request, user)
    chosen = [r for r in ROLES if r in roles] or ["trader"]
    try:
        await runtime.ask(
            registry.ROLES_SET,
            SetRoles(producer="gateway", user_id=user.user_id, target_user_id=target, roles=chosen),
        )
    except CALL_ERRORS as exc:
        ctx = {
            **await shell(runtime, user),
            "tabs": TABS,
            "q": "",
            "page": 1,
            "roles": ROLES,
            "can_edit": True,
            "users": [],
            "total": 0,
            "pages": 1,
            "error": error_text(exc),
        }
        return render(request, "admin/users.html", ctx, status_code=422)
    return see_other("/admin?saved=1")


def _parse_day(value: str, end: bool = False) -> datetime | None:
    if not value:
        return None
    day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    return day.replace(hour=23, minute=59, second=59) if end else day


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    subject: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    if not user.has_role(*STAFF_ROLES):
        return forbidden(request, user)
    filters = {"subject": subject.strip(), "action": action.strip(), "since": since, "until": until}
    ctx = {
        **await shell(runtime, user),
        "tabs": TABS,
        "filters": filters,
        "entries": [],
        "chain_valid": None,
        "errors": {},
    }
    try:
        subject_id = UUID(filters["subject"]) if filters["subject"] else None
    except ValueError:
        ctx["errors"]["subject"] = "Enter a user id (a UUID), or leave it empty."
        subject_id = None
    try:
        since_at, until_at = _parse_day(since), _parse_day(until, end=True)
    except ValueError:
        ctx["errors"]["since"] = "Use dates like 2025-01-31."
        since_at = until_at = None
    if not ctx["errors"]:
        try:
            reply = await runtime.ask(
                registry.AUDIT_LIST,
                ListAudit(
                    producer="gateway",
                    user_id=user.user_id,
                    subject_user_id=subject_id,
                    action=filters["action"][:64] or None,
                    since=since_at,
                    until=until_at,
                    limit=200,
                ),
            )
            assert isinstance(reply, AuditReply)
            ctx.update(entries=reply.entries, chain_valid=reply.chain_valid)
        except CALL_ERRORS as exc:
            ctx["error"] = error_text(exc)
    return render(request, "admin/audit.html", ctx, status_code=422 if ctx["errors"] else 200)
