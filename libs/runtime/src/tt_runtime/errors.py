"""The error taxonomy that drives the consumer policy. Named by what the operator must do."""

from __future__ import annotations


class TradeTrackerError(Exception):
    """Base of every error the platform raises on purpose."""

    code = "error"


class TransientError(TradeTrackerError):
    """Worth retrying later: a dependency is down, slow or rate limited. Nacked with a growing delay."""

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(TradeTrackerError):
    """Retrying cannot help: invalid input or a business rule. Dead-lettered after one delivery."""

    code = "invalid"


class NotFoundError(PermanentError):
    code = "not_found"


class ForbiddenError(PermanentError):
    """The message's user does not own what it names."""

    code = "forbidden"


class ConflictError(PermanentError):
    code = "conflict"
