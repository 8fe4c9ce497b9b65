"""Errors named by what the caller must do.

    CapitalComError
    ├── TransientError          retry later with backoff (`retry_after` when the venue hints one)
    │   ├── RateLimitedError    the venue or our own limiter refused: slow down
    │   └── SessionExpiredError tokens expired or were invalidated: log in again (done internally)
    ├── PermanentError          the request itself is wrong for the venue: do not retry as is
    │   ├── NotFoundError       unknown epic, dealId, dealReference, empty price window
    │   └── DealRejectedError   the venue processed a trade and refused it (confirm REJECTED)
    ├── AuthenticationError     the credentials are refused: fatal until someone fixes them
    └── AmbiguousOutcomeError   a trade request was sent, the outcome is unknown: reconcile
                                (read positions / orders / activity); NEVER send it again

Messages carry the method, path, HTTP status and venue `errorCode`, never tokens or credentials.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .schemas import DealConfirmation


class CapitalComError(Exception):
    """Base of everything this client raises for venue or transport problems."""

    def __init__(self, message: str, *, status_code: int | None = None, error_code: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code


class TransientError(CapitalComError):
    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, status_code=status_code, error_code=error_code)
        self.retry_after = retry_after


class RateLimitedError(TransientError):
    pass


class SessionExpiredError(TransientError):
    pass


class PermanentError(CapitalComError):
    @property
    def bound_value(self) -> Decimal | None:
        """The number some codes embed after the last colon (`error.invalid.stoploss.minvalue: 17.146`)."""
        return error_code_value(self.error_code)

    @property
    def base_code(self) -> str | None:
        """The code without its embedded value (`error.invalid.stoploss.minvalue`)."""
        return error_code_base(self.error_code)


class NotFoundError(PermanentError):
    pass


class DealRejectedError(PermanentError):
    """A confirm came back `dealStatus: REJECTED`; `reason` holds `rejectReason` (or `reason`)."""

    def __init__(self, message: str, *, confirmation: DealConfirmation, reason: str | None):
        super().__init__(message)
        self.confirmation = confirmation
        self.reason = reason


class AuthenticationError(CapitalComError):
    pass


class AmbiguousOutcomeError(CapitalComError):
    """The trade request may or may not have executed. Reconcile before doing anything else."""


def error_code_base(error_code: str | None) -> str | None:
    if error_code is None:
        return None
    return error_code.split(":", 1)[0].strip()


def error_code_value(error_code: str | None) -> Decimal | None:
    if error_code is None or ":" not in error_code:
        return None
    try:
        return Decimal(error_code.rsplit(":", 1)[1].strip())
    except InvalidOperation:
        return None


# Codes that mean the credentials themselves are refused.
_CREDENTIAL_CODES = frozenset({"error.invalid.details", "error.null.api.key", "error.invalid.api.key"})
# Codes that mean the session tokens are missing, expired, rotated or invalidated by another login.
_SESSION_CODES = frozenset(
    {
        "error.invalid.session.token",
        "error.null.client.token",
        "error.security.client-token-missing",
        "error.security.account.token.invalid",
        "error.null.accountId",
    }
)
_RATE_LIMIT_CODES = frozenset({"error.too-many.requests"})
_TRANSIENT_CODES = frozenset({"error.service.unavailable"})
_NOT_FOUND_PREFIXES = ("error.not-found.", "error.prices.not-found")


def classify_venue_error(
    status_code: int,
    error_code: str | None,
    *,
    context: str,
    during_login: bool = False,
    retry_after: float | None = None,
) -> CapitalComError:
    """Turn an HTTP error response into the error class that says what the caller must do.

    `context` is "METHOD path" — it must not contain credentials or tokens.
    """
    base = error_code_base(error_code)
    message = f"{context} failed: HTTP {status_code}" + (f" {error_code}" if error_code else "")
    fields = {"status_code": status_code, "error_code": error_code}

    if base in _CREDENTIAL_CODES or (during_login and (base in _SESSION_CODES or status_code in (401, 403))):
        return AuthenticationError(message, **fields)
    if base in _SESSION_CODES or status_code in (401, 403):
        return SessionExpiredError(message, **fields)
    if base in _RATE_LIMIT_CODES or status_code == 429:
        return RateLimitedError(message, retry_after=retry_after, **fields)
    if base in _TRANSIENT_CODES or status_code >= 500 or status_code == 408:
        return TransientError(message, retry_after=retry_after, **fields)
    if status_code == 404 or (base is not None and base.startswith(_NOT_FOUND_PREFIXES)):
        return NotFoundError(message, **fields)
    return PermanentError(message, **fields)
