"""Typed dependencies for routes (full-stack-fastapi-template's ``deps.py`` shape)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status

from tt_runtime.service import ServiceRuntime

from .auth import session
from .auth.tokens import InvalidToken, Principal
from .live import LiveHub
from .settings import Settings

__all__ = [
    "CurrentUser",
    "HubDep",
    "OptionalUser",
    "PageUser",
    "Principal",
    "RuntimeDep",
    "SettingsDep",
    "require_role",
]


def get_runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_hub(request: Request) -> LiveHub:
    return request.app.state.hub


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
HubDep = Annotated[LiveHub, Depends(get_hub)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


class LoginRequired(Exception):
    """Raised for pages: the app turns it into a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


async def optional_user(request: Request) -> Principal | None:
    """The caller from a Bearer token (API clients) or the session cookie (browsers), if valid."""
    settings: Settings = request.app.state.settings
    authorization = request.headers.get("authorization", "")
    token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    token = token or request.cookies.get(session.cookie_name(settings, session.ACCESS))
    if not token:
        return None
    try:
        principal = await request.app.state.verifier.verify(token)
    except InvalidToken:
        return None
    request.state.user = principal
    return principal


OptionalUser = Annotated[Principal | None, Depends(optional_user)]


async def current_user(user: OptionalUser) -> Principal:
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Sign in required", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


async def page_user(request: Request, user: OptionalUser) -> Principal:
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(target, safe=""))
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]
PageUser = Annotated[Principal, Depends(page_user)]


def require_role(*roles: str):
    """A dependency admitting only principals holding one of ``roles`` (checked again by the owner)."""

    async def check(user: OptionalUser) -> Principal:
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Sign in required")
        if not user.has_role(*roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed")
        return user

    return Depends(check)
