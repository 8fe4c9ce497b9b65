"""Subscriptions of the identity service: thin, parse → call the use case → return.

``build_handlers(service)`` binds the routes to one ``IdentityService`` for ``create_app`` (the
registry test reads the declarations from ``build_handlers(None)``). Every request manages its own
transactions (a failed sign-in must still commit its failure count and audit entry before it
answers with an error), so the runtime's per-request unit of work is off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tt_contracts import identity as c
from tt_runtime.bus import Handlers

from .service import IdentityService

ROUTES: dict[str, Any] = {
    "register": c.USER_REGISTER,
    "authenticate": c.USER_AUTHENTICATE,
    "refresh": c.TOKEN_REFRESH,
    "sign_out": c.SIGN_OUT,
    "list_sessions": c.SESSIONS_LIST,
    "verify_email": c.EMAIL_VERIFY,
    "resend_verification": c.EMAIL_RESEND,
    "request_password_reset": c.PASSWORD_RESET_REQUEST,
    "reset_password": c.PASSWORD_RESET,
    "change_password": c.PASSWORD_CHANGE,
    "get_profile": c.PROFILE_GET,
    "update_profile": c.PROFILE_UPDATE,
    "oidc_authorize_url": c.OIDC_AUTHORIZE_URL,
    "oidc_sign_in": c.OIDC_SIGN_IN,
    "external_sign_in": c.EXTERNAL_SIGN_IN,
    "jwks": c.JWKS_GET,
    "list_users": c.USERS_LIST,
    "set_roles": c.ROLES_SET,
    "list_audit": c.AUDIT_LIST,
}


def build_handlers(service: IdentityService | None) -> Handlers:
    handlers = Handlers("identity")
    for name, route in ROUTES.items():
        handlers.respond(route, transactional=False)(_bind(service, name))
    return handlers


def _bind(service: IdentityService | None, name: str) -> Callable[[Any, None], Awaitable[Any]]:
    async def handle(request: Any, _uow: None) -> Any:
        if service is None:
            raise RuntimeError("identity handlers are not bound to a service")
        return await getattr(service, name)(request)

    handle.__name__ = name
    return handle
