"""identity: users, sign-in, tokens."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ._base import Event, Reply, Request, UserScoped, UtcDatetime, WireSecret
from .routing import cmd, evt, req  # noqa: F401

# A light syntactic check only; identity proves ownership by sending a verification email.
Email = Annotated[str, Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$", max_length=320)]


class ClientContext(BaseModel):
    """Where a request came from, for sessions, lockout and the audit log."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ip: str | None = None
    user_agent: str | None = Field(default=None, max_length=400)


class RegisterUser(Request):
    email: Email
    password: WireSecret = Field(min_length=1)
    display_name: str = Field(default="", max_length=120)


class UserRegisteredReply(Reply):
    user_id: UUID
    verification_required: bool = True


class AuthenticateUser(Request):
    email: Email
    password: WireSecret
    client: ClientContext = Field(default_factory=ClientContext)
    # v1 shipped these two before ``client``; kept so v1 stays compatible. Producers send ``client``.
    client_ip: str | None = None
    user_agent: str | None = None


class TokenPair(Reply):
    """A signed-in session: a short-lived EdDSA access token and an opaque, rotating refresh token."""

    user_id: UUID
    access_token: str
    refresh_token: str
    expires_in: int = Field(description="Access token lifetime in seconds")
    # Added within v1, so optional; identity always fills them.
    session_id: UUID | None = None
    refresh_expires_in: int | None = Field(default=None, description="Seconds until the refresh idle expiry")
    roles: list[str] = Field(default_factory=list)


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


Role = Literal["trader", "support", "admin"]


class Ack(Reply):
    """A request that changed state and has nothing else to say."""

    ok: bool = True


class RefreshTokens(Request):
    refresh_token: WireSecret
    client: ClientContext = Field(default_factory=ClientContext)


class SignOut(Request, UserScoped):
    """Revoke one session (the current one when signing out) or, with ``everywhere``, all of them."""

    session_id: UUID | None = None
    everywhere: bool = False
    client: ClientContext = Field(default_factory=ClientContext)


class ListSessions(Request, UserScoped):
    pass


class SessionView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: UUID
    created_at: UtcDatetime
    last_used_at: UtcDatetime
    ip: str | None = None
    user_agent: str | None = None
    device: str = ""


class SessionsReply(Reply):
    sessions: list[SessionView]


class VerifyEmail(Request):
    token: WireSecret


class ResendVerification(Request):
    email: Email


class RequestPasswordReset(Request):
    """Always answered with ``Ack``: the reply never tells whether the address has an account."""

    email: Email
    client: ClientContext = Field(default_factory=ClientContext)


class ResetPassword(Request):
    token: WireSecret
    new_password: WireSecret = Field(min_length=1)
    client: ClientContext = Field(default_factory=ClientContext)


class ChangePassword(Request, UserScoped):
    current_password: WireSecret
    new_password: WireSecret = Field(min_length=1)
    client: ClientContext = Field(default_factory=ClientContext)
    # Added within v1: the caller's own session survives the change; every other one is revoked.
    keep_session_id: UUID | None = None


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    display_name: str = Field(default="", max_length=120)
    timezone: str = Field(default="UTC", max_length=64)
    base_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    risk_per_trade_percent: Decimal = Field(default=Decimal("1"), ge=0, le=100)
    max_open_positions: int = Field(default=5, ge=0, le=1000)
    onboarding_completed: list[str] = Field(default_factory=list, description="Finished or skipped steps")


class GetProfile(Request, UserScoped):
    pass


class UpdateProfile(Request, UserScoped):
    profile: Profile


class ProfileReply(Reply):
    user_id: UUID
    email: Email
    email_verified: bool
    roles: list[Role]
    profile: Profile
    linked_providers: list[str] = Field(default_factory=list)


class OidcAuthorizeUrl(Request):
    """Start an authorization-code + PKCE sign-in with a configured provider (e.g. ``google``)."""

    provider: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    redirect_uri: str = Field(max_length=2000)


class OidcAuthorizeUrlReply(Reply):
    url: str
    state: str
    code_verifier: str = Field(
        description="Kept by the gateway in a short-lived cookie, sent back on callback"
    )
    nonce: str


class OidcSignIn(Request):
    """Finish the sign-in: identity exchanges the code, validates the ID token, links or creates the user."""

    provider: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    code: WireSecret
    code_verifier: WireSecret
    redirect_uri: str = Field(max_length=2000)
    nonce: str
    client: ClientContext = Field(default_factory=ClientContext)


class ExternalTokenSignIn(Request):
    """Sign in with a token from a federated issuer (e.g. Clerk) when one is configured."""

    token: WireSecret
    client: ClientContext = Field(default_factory=ClientContext)


class ListUsers(Request, UserScoped):
    """Admin or support: ``user_id`` is the caller, checked again by identity."""

    query: str = Field(default="", max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class UserSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: UUID
    email: Email
    display_name: str
    roles: list[Role]
    email_verified: bool
    created_at: UtcDatetime
    locked_until: UtcDatetime | None = None


class UsersReply(Reply):
    users: list[UserSummary]
    total: int


class SetRoles(Request, UserScoped):
    """Admin only: ``user_id`` is the caller; ``target_user_id`` gets ``roles``."""

    target_user_id: UUID
    roles: list[Role] = Field(min_length=1)


class ListAudit(Request, UserScoped):
    """A user sees their own entries; admin and support may filter by any subject user."""

    subject_user_id: UUID | None = None
    action: str | None = Field(default=None, max_length=64)
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    seq: int
    at: UtcDatetime
    action: str
    actor_user_id: UUID | None
    subject_user_id: UUID | None
    ip: str | None = None
    detail: dict[str, str] = Field(default_factory=dict)
    hash: str


class AuditReply(Reply):
    entries: list[AuditEntry]
    chain_valid: bool = Field(description="The hash chain verified over the returned range")


class PasswordChanged(Event, UserScoped):
    pass


class SessionRevoked(Event, UserScoped):
    session_id: UUID | None = Field(default=None, description="None: every session of the user")
    reason: str = Field(
        description="'sign-out', 'sign-out-everywhere', 'refresh-reuse', 'password-change', …"
    )


class AccountLinked(Event, UserScoped):
    provider: str


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
TOKEN_REFRESH = req(
    "identity",
    "token",
    "refresh",
    RefreshTokens,
    TokenPair,
    ["gateway"],
    "Rotate a refresh token; reuse of a rotated token revokes its family",
)
SIGN_OUT = req("identity", "session", "revoke", SignOut, Ack, ["gateway"], "Sign out here or everywhere")
SESSIONS_LIST = req("identity", "session", "list", ListSessions, SessionsReply, ["gateway"])
EMAIL_VERIFY = req("identity", "email", "verify", VerifyEmail, Ack, ["gateway"])
EMAIL_RESEND = req("identity", "email", "resend", ResendVerification, Ack, ["gateway"])
PASSWORD_RESET_REQUEST = req("identity", "password", "reset-request", RequestPasswordReset, Ack, ["gateway"])
PASSWORD_RESET = req("identity", "password", "reset", ResetPassword, Ack, ["gateway"])
PASSWORD_CHANGE = req("identity", "password", "change", ChangePassword, Ack, ["gateway"])
PROFILE_GET = req("identity", "profile", "get", GetProfile, ProfileReply, ["gateway"])
PROFILE_UPDATE = req("identity", "profile", "update", UpdateProfile, ProfileReply, ["gateway"])
OIDC_AUTHORIZE_URL = req(
    "identity", "oidc", "authorize-url", OidcAuthorizeUrl, OidcAuthorizeUrlReply, ["gateway"]
)
OIDC_SIGN_IN = req("identity", "oidc", "sign-in", OidcSignIn, TokenPair, ["gateway"])
EXTERNAL_SIGN_IN = req(
    "identity",
    "external-token",
    "sign-in",
    ExternalTokenSignIn,
    TokenPair,
    ["gateway"],
    "Federated issuer token (e.g. Clerk), when configured",
)
JWKS_GET = req(
    "identity", "jwks", "get", GetJwks, JwksReply, ["gateway"], "Public keys that verify access tokens"
)
USERS_LIST = req("identity", "user", "list", ListUsers, UsersReply, ["gateway"], "Admin and support")
ROLES_SET = req("identity", "user", "set-roles", SetRoles, Ack, ["gateway"], "Admin only")
AUDIT_LIST = req("identity", "audit", "list", ListAudit, AuditReply, ["gateway"])

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
PASSWORD_CHANGED = evt("identity", "user", "password-changed", PasswordChanged, ["gateway"])
SESSION_REVOKED = evt("identity", "session", "revoked", SessionRevoked, ["gateway"])
ACCOUNT_LINKED = evt("identity", "user", "account-linked", AccountLinked, ["gateway"])
