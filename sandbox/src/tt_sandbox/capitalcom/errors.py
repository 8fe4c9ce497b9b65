"""The venue's error envelope: `{"errorCode": "..."}` with the HTTP status the real API uses."""

from __future__ import annotations

from decimal import Decimal


class ApiError(Exception):
    def __init__(self, status: int, code: str, value: Decimal | str | None = None) -> None:
        # Some codes carry a bound after a colon, inside the same string:
        # "error.invalid.stoploss.minvalue: 17.146".
        self.status = status
        self.code = code if value is None else f"{code}: {value}"
        super().__init__(self.code)

    def body(self) -> dict[str, str]:
        return {"errorCode": self.code}


def bad_request(code: str, value: Decimal | str | None = None) -> ApiError:
    return ApiError(400, code, value)


def not_found(code: str) -> ApiError:
    return ApiError(404, code)


def unauthorized(code: str) -> ApiError:
    return ApiError(401, code)


def too_many_requests() -> ApiError:
    return ApiError(429, "error.too-many.requests")
