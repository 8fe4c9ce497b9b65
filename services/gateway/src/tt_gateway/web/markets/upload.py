"""``/markets/upload``: a user's own candle data set from a CSV file — check first, import on
confirmation, all or nothing.

The confirmation form carries the checked file back (compressed, with its digest), so the import
needs no server-side state between the two steps and works on any gateway replica; market-data
validates it again before importing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import zlib
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from tt_contracts import registry
from tt_contracts.common import Timeframe
from tt_contracts.market_data import UPLOAD_MAX_BYTES, UploadCsv, UploadReport
from tt_runtime.client import RemoteError, ServiceUnavailable

from ...deps import PageUser, RuntimeDep
from ..forms import error_text
from ..shell import shell
from ..templating import render

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
CALL_ERRORS = (RemoteError, ServiceUnavailable, ValidationError)
UPLOAD_TIMEOUT = 30.0  # a 5 MB file takes market-data a few seconds to check
MAX_MB = UPLOAD_MAX_BYTES // (1024 * 1024)
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CSV_TYPES = ("text/csv", "text/plain", "application/csv")


class UploadRefused(ValueError):
    """The file or the form cannot be sent to market-data; the message is shown beside the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_form(symbol: str, timeframe: str) -> Timeframe:
    if not NAME.match(symbol):
        raise UploadRefused("symbol", "Use 1 to 64 letters, digits, - or _ (for example my-eurusd-1h).")
    try:
        return Timeframe(timeframe)
    except ValueError as exc:
        raise UploadRefused("timeframe", "Choose the timeframe of the bars in the file.") from exc


def check_file(filename: str, content_type: str, content: bytes) -> None:
    if len(content) > UPLOAD_MAX_BYTES:
        raise UploadRefused("file", f"The file is larger than {MAX_MB} MB. Split it and upload the parts.")
    if not content.strip():
        raise UploadRefused("file", "The file is empty.")
    named_csv = filename.lower().endswith((".csv", ".txt"))
    if not named_csv and content_type.split(";")[0].strip().lower() not in CSV_TYPES:
        raise UploadRefused("file", "Choose a CSV file (.csv): comma-separated text with a header row.")
    if b"\x00" in content[:65536]:
        raise UploadRefused("file", "This is not a CSV file: it contains binary data.")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadRefused(
            "file", "The file is not UTF-8 text. Save it as CSV (UTF-8) and try again."
        ) from exc


def pack(content: bytes) -> str:
    return base64.b64encode(zlib.compress(content, 6)).decode("ascii")


def unpack(packed: str, digest: str) -> bytes:
    """The file carried by the confirmation form; refuses anything that is not what was checked."""
    try:
        stream = zlib.decompressobj()
        content = stream.decompress(base64.b64decode(packed, validate=True), UPLOAD_MAX_BYTES + 1)
    except (binascii.Error, zlib.error) as exc:
        raise UploadRefused("file", "The checked file did not come back intact. Upload it again.") from exc
    if len(content) > UPLOAD_MAX_BYTES or stream.unconsumed_tail:
        raise UploadRefused("file", f"The file is larger than {MAX_MB} MB.")
    if hashlib.sha256(content).hexdigest() != digest:
        raise UploadRefused("file", "The checked file did not come back intact. Upload it again.")
    return content


async def _read(file: UploadFile) -> bytes:
    return await file.read(
        UPLOAD_MAX_BYTES + 1
    )  # one byte over tells an oversize file without reading it all


def _form(symbol: str, timeframe: str, errors: dict | None = None, **extra) -> dict:
    return {
        "form": {"symbol": symbol, "timeframe": timeframe},
        "errors": errors or {},
        "timeframes": [tf.value for tf in Timeframe],
        "max_bytes": UPLOAD_MAX_BYTES,
        "max_mb": MAX_MB,
        **extra,
    }


async def _send(runtime, route, request: UploadCsv) -> UploadReport:
    reply = await runtime.ask(route, request, timeout=UPLOAD_TIMEOUT)
    assert isinstance(reply, UploadReport)
    return reply


@router.get("/markets/upload", response_class=HTMLResponse)
async def upload_page(request: Request, runtime: RuntimeDep, user: PageUser) -> Response:
    return render(request, "markets/upload.html", {**await shell(runtime, user), **_form("", "1h")})


@router.post("/markets/upload", response_class=HTMLResponse)
async def check_upload(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    file: Annotated[UploadFile | None, File()] = None,
    symbol: FormStr = "",
    timeframe: FormStr = "1h",
) -> Response:
    ctx = await shell(runtime, user)
    symbol = symbol.strip()
    try:
        tf = check_form(symbol, timeframe)
        if file is None or not file.filename:
            raise UploadRefused("file", "Choose a CSV file to upload.")
        content = await _read(file)
        filename = file.filename[-255:]
        check_file(filename, file.content_type or "", content)
    except UploadRefused as exc:
        return render(
            request,
            "markets/upload.html",
            {**ctx, **_form(symbol, timeframe, {exc.field: str(exc)})},
            status_code=413 if "larger than" in str(exc) else 422,
        )
    upload = UploadCsv(
        producer="gateway",
        user_id=user.user_id,
        symbol=symbol,
        timeframe=tf,
        content=content,
        filename=filename,
    )
    try:
        report = await _send(runtime, registry.UPLOAD_VALIDATE, upload)
    except CALL_ERRORS as exc:
        return render(
            request,
            "markets/upload.html",
            {**ctx, **_form(symbol, timeframe, error=error_text(exc))},
            status_code=503 if isinstance(exc, ServiceUnavailable) else 422,
        )
    confirm = {"content": pack(content), "sha256": hashlib.sha256(content).hexdigest(), "filename": filename}
    return render(
        request,
        "markets/upload.html",
        {**ctx, **_form(symbol, timeframe, report=report, confirm=confirm if report.ok else None)},
        status_code=200 if report.ok else 422,
    )


@router.post("/markets/upload/import", response_class=HTMLResponse)
async def import_upload(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    symbol: FormStr = "",
    timeframe: FormStr = "1h",
    filename: FormStr = "upload.csv",
    content: FormStr = "",
    sha256: FormStr = "",
) -> Response:
    ctx = await shell(runtime, user)
    symbol = symbol.strip()
    try:
        tf = check_form(symbol, timeframe)
        data = unpack(content, sha256)
    except UploadRefused as exc:
        return render(
            request,
            "markets/upload.html",
            {**ctx, **_form(symbol, timeframe, {exc.field: str(exc)})},
            status_code=422,
        )
    upload = UploadCsv(
        producer="gateway",
        user_id=user.user_id,
        symbol=symbol,
        timeframe=tf,
        content=data,
        filename=filename[-255:],
    )
    try:
        report = await _send(runtime, registry.UPLOAD_IMPORT, upload)
    except CALL_ERRORS as exc:
        message = error_text(exc, {"conflict": f"The name {symbol!r} is taken. Choose another name."})
        return render(
            request,
            "markets/upload.html",
            {**ctx, **_form(symbol, timeframe, error=message)},
            status_code=422,
        )
    return render(
        request,
        "markets/upload.html",
        {
            **ctx,
            **_form(symbol, timeframe, report=report, imported=report.ok and report.instrument is not None),
        },
        status_code=200 if report.ok else 422,
    )
