"""``/markets``: the user's watchlist with live quotes, and instrument search filtered by type.

Plain GET search and POST watchlist forms; ``markets.js`` adds the live prices over SSE.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from tt_contracts.market_data import InstrumentView
from tt_runtime.client import RemoteError, ServiceUnavailable

from ...deps import PageUser, Principal, RuntimeDep
from ..forms import error_text, safe_next, see_other
from ..shell import shell
from ..templating import render
from .queries import INSTRUMENT_TYPES, change_watchlist, latest_quotes, search, watchlist
from .refs import instrument_ref, ref_key

router = APIRouter(include_in_schema=False)
CALL_ERRORS = (RemoteError, ServiceUnavailable, ValidationError)
PAGE_SIZE = 50
NOT_FOUND = {"not_found": "No such instrument."}
NOTICES = {
    "added": "Added to your watchlist.",
    "removed": "Removed from your watchlist.",
}


async def _page(
    request: Request,
    runtime,
    user: Principal,
    q: str,
    instrument_type: str,
    page: int,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    watched: list[InstrumentView] = []
    results: list[InstrumentView] = []
    errors: list[str] = [error] if error else []
    try:
        watched = await watchlist(runtime, user.user_id)
    except CALL_ERRORS as exc:
        errors.append(f"Your watchlist cannot be loaded: {error_text(exc)}")
    try:
        found = await search(runtime, q, instrument_type, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        results = found[:PAGE_SIZE]
        more = len(found) > PAGE_SIZE
    except CALL_ERRORS as exc:
        more = False
        errors.append(f"The search did not run: {error_text(exc)}")
    shown = [v.instrument for v in [*watched, *results]]
    quotes = await latest_quotes(runtime, shown) if shown else {}
    return render(
        request,
        "markets/index.html",
        {
            **await shell(runtime, user),
            "q": q,
            "type": instrument_type,
            "types": INSTRUMENT_TYPES,
            "page": page,
            "more": more,
            "watched": watched,
            "watched_keys": {ref_key(v.instrument) for v in watched},
            "results": results,
            "quotes": {ref_key(ref): quote for ref, quote in quotes.items()},
            "live_symbols": ",".join(dict.fromkeys(ref_key(ref) for ref in shown)),
            "errors": errors,
            "notice": NOTICES.get(request.query_params.get("saved", "")),
            "next_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        },
        status_code=status_code,
    )


@router.get("/markets", response_class=HTMLResponse)
async def markets(
    request: Request, runtime: RuntimeDep, user: PageUser, q: str = "", type: str = "", page: int = 1
) -> Response:
    q = q.strip()[:80]
    instrument_type = type if type in INSTRUMENT_TYPES else ""
    return await _page(request, runtime, user, q, instrument_type, max(page, 1))


@router.post("/markets/watchlist", response_class=HTMLResponse)
async def change(
    request: Request,
    runtime: RuntimeDep,
    user: PageUser,
    venue: Annotated[str, Form()] = "",
    symbol: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "add",
    next: Annotated[str, Form()] = "/markets",
) -> Response:
    back = safe_next(next, "/markets")
    try:
        ref = instrument_ref(venue, symbol)
        await change_watchlist(runtime, user.user_id, ref, add=action != "remove")
    except CALL_ERRORS as exc:
        return await _page(
            request, runtime, user, "", "", 1, status_code=422, error=error_text(exc, NOT_FOUND)
        )
    return see_other(with_notice(back, "removed" if action == "remove" else "added"))


def with_notice(url: str, saved: str) -> str:
    """``url`` with ``saved=<notice>`` replacing any earlier notice."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "saved"] + [("saved", saved)]
    return urlunsplit(parts._replace(query=urlencode(query)))
