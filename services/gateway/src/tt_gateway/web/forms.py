"""Form helpers: safe redirects, client context, and identity errors as inline form messages."""

from __future__ import annotations

import re

from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from tt_runtime.client import RemoteError, ServiceUnavailable

from ..security import client_context

__all__ = ["client_context"]

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")
MIN_PASSWORD = 8  # identity enforces its own policy and its message is shown

# What each stable error code means to someone filling in a form.
FRIENDLY = {
    "invalid": "Please check the details and try again.",
    "conflict": "That already exists.",
    "unauthenticated": "The email or password is not right.",
    "forbidden": "You are not allowed to do that.",
    "rate_limited": "Too many attempts. Please wait a minute and try again.",
    "not_found": "We could not find that.",
    "unavailable": "The service is not answering right now. Please try again in a moment.",
}


def safe_next(value: str | None, default: str = "/dashboard") -> str:
    """Only same-site paths; never ``//host`` or ``/\\host`` (open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or "\n" in value:
        return default
    return value


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


ALIASES = {
    "unauthorized": "unauthenticated",
    "permission_denied": "forbidden",
    "too_many_requests": "rate_limited",
}


def code_of(exc: Exception) -> str:
    """The stable error code of a failed call (``unavailable`` when nobody answered)."""
    if isinstance(exc, ServiceUnavailable):
        return "unavailable"
    code = getattr(exc, "code", "") or ""
    return ALIASES.get(code, code)


def error_text(exc: Exception, messages: dict[str, str] | None = None) -> str:
    """A message safe to show for a failed identity call."""
    if isinstance(exc, ServiceUnavailable):
        return FRIENDLY["unavailable"]
    if isinstance(exc, RemoteError):
        code = code_of(exc)
        custom = (messages or {}).get(code)
        if custom:
            return custom
        if code in ("invalid", "conflict", "forbidden") and exc.detail.message:
            return exc.detail.message[:1].upper() + exc.detail.message[1:]  # written to be shown
        return FRIENDLY.get(code, "Something went wrong. Please try again.")
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        return f"{field.replace('_', ' ')}: {first['msg']}"
    raise exc


def check_email(email: str, errors: dict[str, str]) -> None:
    if not EMAIL_RE.match(email):
        errors["email"] = "Enter an email address like name@example.com."


def check_new_password(password: str, confirm: str, errors: dict[str, str], field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        errors[field] = f"Use at least {MIN_PASSWORD} characters."
    elif password != confirm:
        errors[f"{field}_confirm"] = "The two passwords do not match."
