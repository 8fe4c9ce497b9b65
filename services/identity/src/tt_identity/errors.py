"""Identity's error codes on top of the runtime taxonomy (they become ``ErrorReply`` codes)."""

from tt_runtime.errors import PermanentError


class AuthenticationError(PermanentError):
    """Bad credentials or token. The message is generic on purpose."""

    code = "unauthorized"


class RateLimitedError(PermanentError):
    code = "rate_limited"


GENERIC_SIGN_IN_FAILURE = "invalid email or password"
GENERIC_RATE_LIMITED = "too many attempts; try again later"
