"""Answers from other services mapped to HTTP: one place, stable codes."""

from fastapi import HTTPException

from tt_runtime.client import RemoteError, ServiceUnavailable

STATUS_BY_CODE = {
    "invalid": 422,
    "conflict": 409,
    "not_found": 404,
    "forbidden": 403,
    "unauthenticated": 401,
    "rate_limited": 429,
    "unavailable": 503,
    "internal": 502,
}


def http_error(exc: Exception) -> HTTPException:
    if isinstance(exc, RemoteError):
        return HTTPException(STATUS_BY_CODE.get(exc.code, 502), exc.detail.message)
    if isinstance(exc, ServiceUnavailable):
        return HTTPException(503, "A service is temporarily unavailable; try again shortly")
    return HTTPException(502, "Unexpected error")
