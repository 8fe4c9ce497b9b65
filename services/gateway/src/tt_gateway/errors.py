"""One JSON error shape for every API error: ``{"error": {"code": ..., "message": ...}}``."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


def _json(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        ErrorResponse(error=ErrorBody(code=code, message=message)).model_dump(), status_code=status
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = {
            400: "invalid",
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            413: "too_large",
            422: "invalid",
            429: "rate_limited",
            503: "unavailable",
            504: "timeout",
        }.get(exc.status_code, "error")
        return _json(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _json(422, "invalid", f"{where}: {first['msg']}")
