"""``/markets/{venue}/{symbol}``: one instrument — the interactive chart (lightweight-charts fed by the
candles API, live bars over SSE), the server-rendered chart beside it, dealing rules, trading hours,
status and stored data coverage.

Without JavaScript the page still works: the timeframe and indicator choices are a GET form, and
the server-rendered chart is a plain image.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from tt_contracts.common import IndicatorSpec, InstrumentRef, Timeframe
from tt_contracts.market_data import CoverageReply, IndicatorInfo, InstrumentView, LatestQuoteReply
from tt_runtime.client import RemoteError, ServiceUnavailable

from ...deps import PageUser, RuntimeDep
from ..forms import error_text
from ..shell import shell
from ..templating import render
from . import queries
from .indicators import IndicatorChoiceError, chartable, format_specs, on_price_scale, parse
from .refs import UPLOAD_VENUE, instrument_ref, ref_key

router = APIRouter(include_in_schema=False)
CALL_ERRORS = (RemoteError, ServiceUnavailable, ValidationError)
CHART_BARS = 300
TIMEFRAMES = [(tf.value, tf.value) for tf in Timeframe]
WEEKDAYS = [("mon", "Monday"), ("tue", "Tuesday"), ("wed", "Wednesday"), ("thu", "Thursday")]
WEEKDAYS += [("fri", "Friday"), ("sat", "Saturday"), ("sun", "Sunday")]


def _not_found(request: Request, ctx: dict) -> Response:
    return render(
        request,
        "app/error.html",
        {
            **ctx,
            "heading": "Instrument not found",
            "message": "There is no such instrument in the catalogue.",
        },
        status_code=404,
    )


def _choose(indicators: str, add: str, remove: int | None) -> tuple[list[IndicatorSpec], str | None]:
    """The indicators after the no-JavaScript picker's add/remove, and a message if unreadable."""
    try:
        specs = parse(indicators)
    except IndicatorChoiceError as exc:
        return [], f"Indicators: {exc}."
    if remove is not None and 0 <= remove < len(specs):
        specs.pop(remove)
    if add:
        try:
            specs = parse(format_specs([*specs, IndicatorSpec(name=add)]))
        except IndicatorChoiceError as exc:
            return specs, f"Indicators: {exc}."
    return specs, None


@router.get("/markets/{venue}/{symbol}", response_class=HTMLResponse)
async def instrument_page(
    request: Request,
    venue: str,
    symbol: str,
    runtime: RuntimeDep,
    user: PageUser,
    timeframe: Timeframe = Timeframe.H1,
    indicators: str = "",
    add: str = "",
    remove: int | None = None,
) -> Response:
    ctx = await shell(runtime, user)
    try:
        ref = instrument_ref(venue, symbol)
    except ValidationError:
        return _not_found(request, ctx)
    errors: list[str] = []
    view: InstrumentView | None = None
    if ref.venue != UPLOAD_VENUE:
        try:
            view = await queries.find_instrument(runtime, ref)
        except CALL_ERRORS as exc:
            errors.append(f"The instrument details cannot be loaded: {error_text(exc)}")
        else:
            if view is None:
                return _not_found(request, ctx)
    specs, problem = _choose(indicators, add.strip().upper(), remove)
    if problem:
        errors.append(problem)
    catalogue: list[IndicatorInfo] = []
    try:
        catalogue = chartable(await queries.indicator_catalogue(runtime))
    except CALL_ERRORS as exc:
        errors.append(f"The indicator list cannot be loaded: {error_text(exc)}")
    groups = {i.name: i.group for i in catalogue}
    watched = False
    with contextlib.suppress(*CALL_ERRORS):  # the button then offers to add; adding twice is harmless
        watched = any(v.instrument == ref for v in await queries.watchlist(runtime, user.user_id))
    quote: LatestQuoteReply | None = (await queries.latest_quotes(runtime, [ref])).get(ref)
    coverage, coverage_error = await _coverage(runtime, ref, user.user_id)
    chosen = format_specs(specs)
    chart_query = {"timeframe": timeframe.value, "indicators": chosen}
    return render(
        request,
        "markets/instrument.html",
        {
            **ctx,
            "ref": ref,
            "key": ref_key(ref),
            "view": view,
            "uploaded": ref.venue == UPLOAD_VENUE,
            "quote": quote,
            "watched": watched,
            "timeframe": timeframe.value,
            "timeframes": TIMEFRAMES,
            "specs": [(s, on_price_scale(s.name, groups)) for s in specs],
            "indicators": chosen,
            "catalogue": catalogue,
            "catalogue_json": [
                i.model_dump(mode="json") | {"overlay": on_price_scale(i.name, groups)} for i in catalogue
            ],
            "chart_png": f"/markets/{ref.venue}/{ref.symbol}/chart.png?{urlencode(chart_query)}",
            "candles_url": f"/api/v1/markets/{ref.venue}/{ref.symbol}/candles",
            "candles_events": "/events/markets/candles?"
            + urlencode({"venue": ref.venue, "symbol": ref.symbol, "timeframe": timeframe.value}),
            "weekdays": WEEKDAYS,
            "coverage": coverage,
            "coverage_error": coverage_error,
            "errors": errors,
            "page_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "chart_bars": CHART_BARS,
        },
    )


async def _coverage(runtime, ref: InstrumentRef, user_id) -> tuple[CoverageReply | None, str | None]:
    try:
        return await queries.coverage(runtime, ref, user_id), None
    except CALL_ERRORS as exc:
        return None, error_text(exc)
