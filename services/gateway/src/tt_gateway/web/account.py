"""Sign-up, sign-in, email verification, password reset and sign-out pages (plain POST forms)."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import SecretStr, ValidationError

from tt_contracts import registry
from tt_contracts.identity import (
    AuthenticateUser,
    GetProfile,
    RegisterUser,
    RequestPasswordReset,
    ResendVerification,
    ResetPassword,
    SignOut,
    TokenPair,
    VerifyEmail,
)
from tt_runtime.client import RemoteError, ServiceUnavailable

from ..auth import session
from ..deps import OptionalUser, RuntimeDep, SettingsDep
from .forms import (
    check_email,
    check_new_password,
    client_context,
    code_of,
    error_text,
    safe_next,
    see_other,
)
from .templating import render

router = APIRouter(include_in_schema=False)
CALL_ERRORS = (RemoteError, ServiceUnavailable, ValidationError)
FormStr = Annotated[str, Form()]


def _message(request: Request, heading: str, message: str, status_code: int = 200, **ctx) -> HTMLResponse:
    return render(
        request,
        "account/message.html",
        {"heading": heading, "message": message, **ctx},
        status_code=status_code,
    )


# --- sign-up ------------------------------------------------------------------------------------------


@router.get("/sign-up", response_class=HTMLResponse)
async def sign_up_form(request: Request, user: OptionalUser) -> Response:
    if user is not None:
        return see_other("/dashboard")
    return render(request, "account/sign_up.html", {"form": {"email": "", "display_name": ""}, "errors": {}})


@router.post("/sign-up", response_class=HTMLResponse)
async def sign_up(
    request: Request,
    runtime: RuntimeDep,
    email: FormStr = "",
    password: FormStr = "",
    password_confirm: FormStr = "",
    display_name: FormStr = "",
) -> Response:
    email, display_name = email.strip(), display_name.strip()[:120]
    form = {"email": email, "display_name": display_name}
    errors: dict[str, str] = {}
    check_email(email, errors)
    check_new_password(password, password_confirm, errors)
    if errors:
        return render(request, "account/sign_up.html", {"form": form, "errors": errors}, status_code=422)
    try:
        await runtime.ask(
            registry.USER_REGISTER,
            RegisterUser(
                producer="gateway", email=email, password=SecretStr(password), display_name=display_name
            ),
        )
    except CALL_ERRORS as exc:
        if code_of(exc) == "conflict":
            errors["email"] = "An account with this email already exists. Sign in or reset your password."
            return render(request, "account/sign_up.html", {"form": form, "errors": errors}, status_code=409)
        status = 429 if code_of(exc) == "rate_limited" else 422
        if isinstance(exc, ServiceUnavailable):
            status = 503
        return render(
            request,
            "account/sign_up.html",
            {"form": form, "errors": errors, "error": error_text(exc)},
            status_code=status,
        )
    return _message(
        request,
        "Check your email",
        f"We sent a confirmation link to {email}. Open it to activate your account.",
        kind="success",
        show_mailbox=True,
        links=[{"href": "/sign-in", "label": "Go to sign in"}],
    )


# --- email verification -----------------------------------------------------------------------------


@router.get("/verify-email", response_class=HTMLResponse)
async def verify_email(request: Request, runtime: RuntimeDep, token: str = "") -> Response:
    if not token:
        return _message(
            request, "Confirm your email", "This link is incomplete.", 400, kind="error", resend=True
        )
    try:
        await runtime.ask(registry.EMAIL_VERIFY, VerifyEmail(producer="gateway", token=SecretStr(token)))
    except CALL_ERRORS as exc:
        text = error_text(
            exc,
            {
                "invalid": "This confirmation link is invalid or has expired.",
                "not_found": "This confirmation link is invalid or has expired.",
            },
        )
        return _message(request, "Confirm your email", text, 400, kind="error", resend=True)
    return _message(
        request,
        "Email confirmed",
        "Thank you — your email is confirmed. You can sign in now.",
        kind="success",
        links=[{"href": "/sign-in?verified=1", "label": "Sign in"}],
    )


@router.post("/verify-email/resend", response_class=HTMLResponse)
async def resend_verification(request: Request, runtime: RuntimeDep, email: FormStr = "") -> Response:
    email = email.strip()
    errors: dict[str, str] = {}
    check_email(email, errors)
    if errors:
        return _message(
            request, "Confirm your email", errors["email"], 422, kind="error", resend=True, email=email
        )
    try:
        await runtime.ask(registry.EMAIL_RESEND, ResendVerification(producer="gateway", email=email))
    except CALL_ERRORS as exc:
        if code_of(exc) != "not_found":
            return _message(
                request, "Confirm your email", error_text(exc), 422, kind="error", resend=True, email=email
            )
    return _message(
        request,
        "Check your email",
        f"If {email} has an account that still needs confirming, a new link is on its way.",
        kind="success",
        show_mailbox=True,
    )


# --- sign-in / sign-out -------------------------------------------------------------------------------


async def _after_sign_in(runtime, tokens: TokenPair, next_url: str | None) -> str:
    """Where a fresh session lands: ``next``, else onboarding until it is done, else the dashboard."""
    if next_url:
        return safe_next(next_url)
    try:
        profile = await runtime.ask(
            registry.PROFILE_GET, GetProfile(producer="gateway", user_id=tokens.user_id)
        )
    except CALL_ERRORS:
        return "/dashboard"
    from .onboarding import STEPS

    done = set(profile.profile.onboarding_completed)
    return "/dashboard" if all(step.key in done for step in STEPS) else "/onboarding"


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(
    request: Request, user: OptionalUser, next: str = "", verified: str = "", reset: str = ""
) -> Response:
    if user is not None:
        return see_other(safe_next(next))
    notice = None
    if verified:
        notice = "Your email is confirmed. Sign in to continue."
    elif reset:
        notice = "Your password is changed. Sign in with the new one."
    return render(
        request,
        "account/sign_in.html",
        {"form": {"email": ""}, "errors": {}, "next": safe_next(next, ""), "notice": notice},
    )


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    email: FormStr = "",
    password: FormStr = "",
    next: FormStr = "",
) -> Response:
    email = email.strip()
    ctx = {"form": {"email": email}, "errors": {}, "next": safe_next(next, "")}
    check_email(email, ctx["errors"])
    if not password:
        ctx["errors"]["password"] = "Enter your password."
    if ctx["errors"]:
        return render(request, "account/sign_in.html", ctx, status_code=422)
    try:
        tokens = await runtime.ask(
            registry.USER_AUTHENTICATE,
            AuthenticateUser(
                producer="gateway", email=email, password=SecretStr(password), client=client_context(request)
            ),
        )
    except CALL_ERRORS as exc:
        ctx["error"] = error_text(exc, {"unauthenticated": "The email or password is not right."})
        status = {"rate_limited": 429, "unauthenticated": 401, "forbidden": 403}.get(
            code_of(exc), 503 if isinstance(exc, ServiceUnavailable) else 422
        )
        return render(request, "account/sign_in.html", ctx, status_code=status)
    assert isinstance(tokens, TokenPair)
    response = see_other(await _after_sign_in(runtime, tokens, next))
    session.start(response, tokens, settings)
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, user: OptionalUser
) -> Response:
    if user is not None:
        # The cookies go regardless; the session then expires on its own.
        with contextlib.suppress(*CALL_ERRORS):
            await runtime.ask(
                registry.SIGN_OUT,
                SignOut(
                    producer="gateway",
                    user_id=user.user_id,
                    session_id=user.session_id,
                    client=client_context(request),
                ),
            )
    response = see_other("/")
    session.clear(response, settings)
    return response


# --- password reset -----------------------------------------------------------------------------------


@router.get("/forgot-password", response_class=HTMLResponse)
async def forgot_password_form(request: Request) -> Response:
    return render(request, "account/forgot_password.html", {"form": {"email": ""}, "errors": {}})


@router.post("/forgot-password", response_class=HTMLResponse)
async def forgot_password(request: Request, runtime: RuntimeDep, email: FormStr = "") -> Response:
    email = email.strip()
    errors: dict[str, str] = {}
    check_email(email, errors)
    if errors:
        return render(
            request,
            "account/forgot_password.html",
            {"form": {"email": email}, "errors": errors},
            status_code=422,
        )
    try:
        await runtime.ask(
            registry.PASSWORD_RESET_REQUEST,
            RequestPasswordReset(producer="gateway", email=email, client=client_context(request)),
        )
    except CALL_ERRORS as exc:
        return render(
            request,
            "account/forgot_password.html",
            {"form": {"email": email}, "errors": {}, "error": error_text(exc)},
            status_code=429 if code_of(exc) == "rate_limited" else 503,
        )
    return _message(
        request,
        "Check your email",
        f"If {email} has an account, a link to choose a new password is on its way. It works once.",
        kind="success",
        show_mailbox=True,
    )


@router.get("/reset-password", response_class=HTMLResponse)
async def reset_password_form(request: Request, token: str = "") -> Response:
    if not token:
        return _message(
            request,
            "Reset your password",
            "This link is incomplete.",
            400,
            kind="error",
            links=[{"href": "/forgot-password", "label": "Ask for a new link"}],
        )
    return render(request, "account/reset_password.html", {"token": token, "errors": {}})


@router.post("/reset-password", response_class=HTMLResponse)
async def reset_password(
    request: Request,
    runtime: RuntimeDep,
    token: FormStr = "",
    password: FormStr = "",
    password_confirm: FormStr = "",
) -> Response:
    errors: dict[str, str] = {}
    check_new_password(password, password_confirm, errors)
    ctx = {"token": token, "errors": errors}
    if errors:
        return render(request, "account/reset_password.html", ctx, status_code=422)
    try:
        await runtime.ask(
            registry.PASSWORD_RESET,
            ResetPassword(
                producer="gateway",
                token=SecretStr(token),
                new_password=SecretStr(password),
                client=client_context(request),
            ),
        )
    except CALL_ERRORS as exc:
        ctx["error"] = error_text(
            exc,
            {
                "not_found": "This reset link is invalid or has expired. Ask for a new one.",
                "unauthenticated": "This reset link is invalid or has expired. Ask for a new one.",
            },
        )
        return render(request, "account/reset_password.html", ctx, status_code=400)
    return see_other("/sign-in?reset=1")
