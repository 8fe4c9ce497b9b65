"""identity: users, sign-in, tokens."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, SecretStr

from ._base import Event, Reply, Request, UserScoped
from .routing import cmd, evt, req  # noqa: F401

# A light syntactic check only; identity proves ownership by sending a verification email.
Email = Annotated[str, Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$", max_length=320)]


class RegisterUser(Request):
    email: Email
    password: SecretStr = Field(min_length=1)
    display_name: str = Field(default="", max_length=120)


class UserRegisteredReply(Reply):
    user_id: UUID
    verification_required: bool = True


class AuthenticateUser(Request):
    email: Email
    password: SecretStr
    client_ip: str | None = None
    user_agent: str | None = None


class TokenPair(Reply):
    user_id: UUID
    access_token: str
    refresh_token: str
    expires_in: int


class GetJwks(Request):
    pass


class JwksReply(Reply):
    keys: list[dict[str, str]]


class UserRegistered(Event, UserScoped):
    """A new account exists. Billing grants the welcome credits on this."""

    email: Email
    display_name: str = ""


class EmailVerified(Event, UserScoped):
    pass


class UserRoleChanged(Event, UserScoped):
    roles: list[str]
    changed_by: UUID | None = None


# --- routes ------------------------------------------------------------------------------------------

USER_REGISTER = req(
    "identity",
    "user",
    "register",
    RegisterUser,
    UserRegisteredReply,
    ["gateway"],
    "Sign-up with email and password",
)
USER_AUTHENTICATE = req(
    "identity",
    "user",
    "authenticate",
    AuthenticateUser,
    TokenPair,
    ["gateway"],
    "Password sign-in; returns an access/refresh token pair",
)
JWKS_GET = req(
    "identity",
    "jwks",
    "get",
    GetJwks,
    JwksReply,
    ["gateway"],
    "Public keys that verify access tokens",
)
USER_REGISTERED = evt(
    "identity",
    "user",
    "registered",
    UserRegistered,
    ["billing", "gateway"],
    summary="New account; billing grants welcome credits",
)
EMAIL_VERIFIED = evt("identity", "user", "email-verified", EmailVerified, ["gateway"])
ROLE_CHANGED = evt("identity", "user", "role-changed", UserRoleChanged, ["gateway"])
