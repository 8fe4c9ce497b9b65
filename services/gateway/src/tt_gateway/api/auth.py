"""``/api/v1/auth``: sign-up, sign-in (cookies for browsers, tokens for API clients), refresh,
sign-out, sessions, passwords, email verification, profile. Every call goes to identity over the bus;
identity re-checks ownership of everything it is asked about."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field, SecretStr

from tt_contracts import identity as idm
from tt_contracts import registry

from ..auth import session
from ..deps import CurrentUser, RuntimeDep, SettingsDep
from ..security import client_context
from .errors import http_error

router = APIRouter(prefix="/auth", tags=["auth"])


def rate_limited(request: Request, key: str = "") -> None:
    limiter = request.app.state.auth_limiter
    ip = request.client.host if request.client else "unknown"
    if not limiter.allow(f"ip:{ip}") or (key and not limiter.allow(f"key:{key.lower()}")):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "Too many attempts; wait a minute")


class RegisterBody(BaseModel):
    email: str = Field(max_length=320)
    password: SecretStr
    display_name: str = Field(default="", max_length=120)


class SignInBody(BaseModel):
    email: str = Field(max_length=320)
    password: SecretStr


class RefreshBody(BaseModel):
    refresh_token: SecretStr


class SignOutBody(BaseModel):
    everywhere: bool = False


class PasswordChangeBody(BaseModel):
    current_password: SecretStr
    new_password: SecretStr


class EmailBody(BaseModel):
    email: str = Field(max_length=320)


class TokenBody(BaseModel):
    token: SecretStr


class ResetBody(BaseModel):
    token: SecretStr
    new_password: SecretStr


class SignedIn(BaseModel):
    user_id: UUID
    roles: list[str]
    expires_in: int


async def _ask(runtime, route, message):
    try:
        return await runtime.ask(route, message)
    except Exception as exc:
        raise http_error(exc) from exc


@router.post("/register", status_code=201, response_model=idm.UserRegisteredReply)
async def register(body: RegisterBody, request: Request, runtime: RuntimeDep):
    rate_limited(request, body.email)
    return await _ask(
        runtime,
        registry.USER_REGISTER,
        idm.RegisterUser(
            email=body.email, password=body.password, display_name=body.display_name, producer="gateway"
        ),
    )


@router.post("/token", response_model=idm.TokenPair, summary="API clients: tokens in the body")
async def token(body: SignInBody, request: Request, runtime: RuntimeDep):
    rate_limited(request, body.email)
    return await _ask(
        runtime,
        registry.USER_AUTHENTICATE,
        idm.AuthenticateUser(
            email=body.email, password=body.password, client=client_context(request), producer="gateway"
        ),
    )


@router.post("/session", response_model=SignedIn, summary="Browsers: tokens in __Host- cookies")
async def sign_in(
    body: SignInBody, request: Request, response: Response, runtime: RuntimeDep, settings: SettingsDep
):
    rate_limited(request, body.email)
    tokens = await _ask(
        runtime,
        registry.USER_AUTHENTICATE,
        idm.AuthenticateUser(
            email=body.email, password=body.password, client=client_context(request), producer="gateway"
        ),
    )
    session.start(response, tokens, settings)
    return SignedIn(user_id=tokens.user_id, roles=tokens.roles, expires_in=tokens.expires_in)


@router.post("/refresh", response_model=idm.TokenPair, summary="API clients: rotate the refresh token")
async def refresh(body: RefreshBody, request: Request, runtime: RuntimeDep):
    rate_limited(request)
    return await _ask(
        runtime,
        registry.TOKEN_REFRESH,
        idm.RefreshTokens(
            refresh_token=body.refresh_token, client=client_context(request), producer="gateway"
        ),
    )


@router.post("/sign-out", status_code=204)
async def sign_out(
    body: SignOutBody,
    user: CurrentUser,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> None:
    await _ask(
        runtime,
        registry.SIGN_OUT,
        idm.SignOut(
            user_id=user.user_id,
            session_id=user.session_id,
            everywhere=body.everywhere,
            client=client_context(request),
            producer="gateway",
        ),
    )
    session.clear(response, settings)


@router.get("/me", response_model=idm.ProfileReply)
async def me(user: CurrentUser, runtime: RuntimeDep):
    return await _ask(runtime, registry.PROFILE_GET, idm.GetProfile(user_id=user.user_id, producer="gateway"))


@router.put("/me/profile", response_model=idm.ProfileReply)
async def update_profile(profile: idm.Profile, user: CurrentUser, runtime: RuntimeDep):
    return await _ask(
        runtime,
        registry.PROFILE_UPDATE,
        idm.UpdateProfile(user_id=user.user_id, profile=profile, producer="gateway"),
    )


@router.get("/sessions", response_model=idm.SessionsReply)
async def sessions(user: CurrentUser, runtime: RuntimeDep):
    return await _ask(
        runtime, registry.SESSIONS_LIST, idm.ListSessions(user_id=user.user_id, producer="gateway")
    )


@router.delete("/sessions/{session_id}", status_code=204)
async def revoke_session(session_id: UUID, user: CurrentUser, request: Request, runtime: RuntimeDep) -> None:
    await _ask(
        runtime,
        registry.SIGN_OUT,
        idm.SignOut(
            user_id=user.user_id, session_id=session_id, client=client_context(request), producer="gateway"
        ),
    )


@router.post("/password/change", status_code=204)
async def change_password(
    body: PasswordChangeBody, user: CurrentUser, request: Request, runtime: RuntimeDep
) -> None:
    rate_limited(request, str(user.user_id))
    await _ask(
        runtime,
        registry.PASSWORD_CHANGE,
        idm.ChangePassword(
            user_id=user.user_id,
            current_password=body.current_password,
            new_password=body.new_password,
            client=client_context(request),
            producer="gateway",
        ),
    )


@router.post("/password/forgot", status_code=202)
async def forgot_password(body: EmailBody, request: Request, runtime: RuntimeDep) -> dict[str, str]:
    rate_limited(request, body.email)
    await _ask(
        runtime,
        registry.PASSWORD_RESET_REQUEST,
        idm.RequestPasswordReset(email=body.email, client=client_context(request), producer="gateway"),
    )
    return {"status": "If the address has an account, a reset link is on its way"}


@router.post("/password/reset", status_code=204)
async def reset_password(body: ResetBody, request: Request, runtime: RuntimeDep) -> None:
    rate_limited(request)
    await _ask(
        runtime,
        registry.PASSWORD_RESET,
        idm.ResetPassword(
            token=body.token,
            new_password=body.new_password,
            client=client_context(request),
            producer="gateway",
        ),
    )


@router.post("/email/verify", status_code=204)
async def verify_email(body: TokenBody, request: Request, runtime: RuntimeDep) -> None:
    rate_limited(request)
    await _ask(runtime, registry.EMAIL_VERIFY, idm.VerifyEmail(token=body.token, producer="gateway"))


@router.post("/email/resend", status_code=202)
async def resend_verification(body: EmailBody, request: Request, runtime: RuntimeDep) -> dict[str, str]:
    rate_limited(request, body.email)
    await _ask(runtime, registry.EMAIL_RESEND, idm.ResendVerification(email=body.email, producer="gateway"))
    return {"status": "If the address needs verifying, a new link is on its way"}
