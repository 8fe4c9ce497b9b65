"""Settings: profile, security (sessions, password) and linked sign-in accounts."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import SecretStr, ValidationError

from tt_contracts import registry
from tt_contracts.identity import ChangePassword, ListSessions, SessionsReply, SignOut
from tt_runtime.client import RemoteError, ServiceUnavailable

from ..auth import session
from ..deps import PageUser, RuntimeDep, SettingsDep
from .forms import check_new_password, client_context, code_of, error_text, see_other
from .onboarding import CURRENCIES, TIMEZONES, profile_from_form, save_profile
from .shell import shell
from .templating import render

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
CALL_ERRORS = (RemoteError, ServiceUnavailable, ValidationError)
TABS = [
    ("/settings", "Profile"),
    ("/settings/security", "Security"),
    ("/settings/accounts", "Linked accounts"),
]
NOTICES = {
    "profile": "Your profile is saved.",
    "password": "Your password is changed. Other sessions were signed out.",
    "revoked": "The session is signed out.",
}


async def _ctx(runtime, user, request: Request, **extra) -> dict:
    notice = NOTICES.get(request.query_params.get("saved", ""))
    return {**await shell(runtime, user), "tabs": TABS, "notice": notice, **extra}


@router.get("/settings", response_class=HTMLResponse)
async def profile_settings(request: Request, runtime: RuntimeDep, user: PageUser) -> Response:
    ctx = await _ctx(runtime, user, request)
    form = ctx["profile"].profile if ctx["profile"] else None
    return render(
        request,
        "app/settings_profile.html",
        {**ctx, "form": form, "errors": {}, "timezones": TIMEZONES, "currencies": CURRENCIES},
    )


@router.post("/settings/profile", response_class=HTMLResponse)
async def save_profile_settings(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    display_name: FormStr = "",
    timezone: FormStr = "UTC",
    base_currency: FormStr = "USD",
    risk_per_trade_percent: FormStr = "1",
    max_open_positions: FormStr = "5",
) -> Response:
    ctx = await _ctx(runtime, user, request, timezones=TIMEZONES, currencies=CURRENCIES)
    if ctx["profile"] is None:
        return render(
            request,
            "app/settings_profile.html",
            {**ctx, "form": None, "errors": {}, "error": error_text(ServiceUnavailable("identity"))},
            status_code=503,
        )
    current = ctx["profile"].profile
    errors: dict[str, str] = {}
    updated = profile_from_form(
        current, display_name, timezone, base_currency, risk_per_trade_percent, max_open_positions, errors
    )
    if updated is None:
        form = current.model_copy(update={"display_name": display_name})
        return render(
            request, "app/settings_profile.html", {**ctx, "form": form, "errors": errors}, status_code=422
        )
    try:
        await save_profile(runtime, user.user_id, updated)
    except CALL_ERRORS as exc:
        return render(
            request,
            "app/settings_profile.html",
            {**ctx, "form": updated, "errors": {}, "error": error_text(exc)},
            status_code=422,
        )
    return see_other("/settings?saved=profile")


async def _security(request: Request, runtime, user, status_code: int = 200, **extra) -> Response:
    ctx = await _ctx(runtime, user, request)
    sessions, sessions_error = [], None
    try:
        reply = await runtime.ask(
            registry.SESSIONS_LIST, ListSessions(producer="gateway", user_id=user.user_id)
        )
        assert isinstance(reply, SessionsReply)
        sessions = sorted(reply.sessions, key=lambda s: s.last_used_at, reverse=True)
    except CALL_ERRORS as exc:
        sessions_error = error_text(exc)
    return render(
        request,
        "app/settings_security.html",
        {**ctx, "sessions": sessions, "sessions_error": sessions_error, "errors": {}, **extra},
        status_code=status_code,
    )


@router.get("/settings/security", response_class=HTMLResponse)
async def security_settings(request: Request, runtime: RuntimeDep, user: PageUser) -> Response:
    return await _security(request, runtime, user)


@router.post("/settings/sessions/{session_id}/revoke")
async def revoke_session(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, user: PageUser, session_id: UUID
) -> Response:
    return await _sign_out(request, runtime, settings, user, session_id=session_id)


@router.post("/settings/sessions/revoke-all")
async def revoke_all_sessions(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, user: PageUser
) -> Response:
    return await _sign_out(request, runtime, settings, user, everywhere=True)


async def _sign_out(request, runtime, settings, user, session_id: UUID | None = None, everywhere=False):
    try:
        await runtime.ask(
            registry.SIGN_OUT,
            SignOut(
                producer="gateway",
                user_id=user.user_id,
                session_id=session_id,
                everywhere=everywhere,
                client=client_context(request),
            ),
        )
    except CALL_ERRORS as exc:
        return await _security(request, runtime, user, status_code=422, error=error_text(exc))
    if everywhere or (session_id is not None and session_id == user.session_id):
        response = see_other("/sign-in")
        session.clear(response, settings)
        return response
    return see_other("/settings/security?saved=revoked")


@router.post("/settings/password", response_class=HTMLResponse)
async def change_password(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    current_password: FormStr = "",
    new_password: FormStr = "",
    new_password_confirm: FormStr = "",
) -> Response:
    errors: dict[str, str] = {}
    if not current_password:
        errors["current_password"] = "Enter your current password."
    check_new_password(new_password, new_password_confirm, errors, field="new_password")
    if errors:
        return await _security(request, runtime, user, status_code=422, errors=errors)
    try:
        await runtime.ask(
            registry.PASSWORD_CHANGE,
            ChangePassword(
                producer="gateway",
                user_id=user.user_id,
                current_password=SecretStr(current_password),
                new_password=SecretStr(new_password),
                client=client_context(request),
            ),
        )
    except CALL_ERRORS as exc:
        if code_of(exc) in ("unauthenticated", "forbidden"):
            errors["current_password"] = "That is not your current password."
            return await _security(request, runtime, user, status_code=422, errors=errors)
        return await _security(request, runtime, user, status_code=422, error=error_text(exc))
    return see_other("/settings/security?saved=password")


@router.get("/settings/accounts", response_class=HTMLResponse)
async def linked_accounts(request: Request, runtime: RuntimeDep, user: PageUser) -> Response:
    ctx = await _ctx(runtime, user, request)
    linked = ctx["profile"].linked_providers if ctx["profile"] else []
    providers = [{"key": "google", "label": "Google", "linked": "google" in linked}]
    return render(request, "app/settings_accounts.html", {**ctx, "providers": providers})
