"""The server-rendered chart "the AI would see": the same PNG chart-render draws for a bot's analysis.

The gateway publishes ``chart.render`` through its outbox, waits for the outcome on the live hub
(subscribed before publishing, so a fast answer is not missed), then fetches the bytes by object key
with the caller's user id: chart-render answers only to a user who asked for that chart.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import ValidationError

from tt_contracts import registry
from tt_contracts.chart_render import ChartFailed, ChartRendered, ChartReply, GetChart, RenderChart
from tt_contracts.common import IndicatorSpec, InstrumentRef, Timeframe
from tt_runtime.client import RemoteError, ServiceUnavailable
from tt_runtime.service import ServiceRuntime

from ...deps import CurrentUser, HubDep, RuntimeDep
from ...live import LiveHub, chart_topic
from .indicators import IndicatorChoiceError, parse
from .refs import instrument_ref

router = APIRouter(include_in_schema=False)

RENDER_TIMEOUT = 20.0  # seconds; the first chart after a start waits for chart-render's workers
_HASH = re.compile(r"^[0-9a-f]{64}$")


class ChartError(Exception):
    """The chart could not be made; ``status`` and the message are what the browser is told."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def window_end(timeframe: Timeframe, now: datetime | None = None) -> datetime:
    """The start of the bar in progress: the same request within one bar names the same chart, so
    chart-render can answer it from its cache."""
    now = now or datetime.now(UTC)
    step = timeframe.step
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((now - epoch) // step) * step


async def render(
    runtime: ServiceRuntime,
    hub: LiveHub,
    *,
    user_id: UUID,
    ref: InstrumentRef,
    timeframe: Timeframe,
    indicators: list[IndicatorSpec],
    theme: Literal["light", "dark"],
    bars: int,
    width: int,
    height: int,
    timeout: float | None = None,
) -> ChartRendered:
    timeout = timeout or RENDER_TIMEOUT
    request_id = uuid4()
    command = RenderChart(
        producer="gateway",
        request_id=request_id,
        user_id=user_id,
        instrument=ref,
        timeframe=timeframe,
        end=window_end(timeframe),
        bars=bars,
        indicators=indicators,
        width=width,
        height=height,
        theme=theme,
        # Nobody waits for the chart after the timeout: chart-render must not draw it late.
        expires_at=datetime.now(UTC) + timedelta(seconds=timeout),
    )
    async with hub.subscribe(chart_topic(request_id), maxsize=4) as outcome:
        async with runtime.unit_of_work() as uow:
            await uow.publish(registry.CHART_RENDER, command)
        try:
            _topic, event = await outcome.get(timeout)
        except TimeoutError as exc:
            raise ChartError(
                504, f"The chart renderer did not answer within {timeout:g} seconds. Please try again."
            ) from exc
    if isinstance(event, ChartFailed):
        raise ChartError(422, f"The chart could not be drawn: {event.reason}")
    assert isinstance(event, ChartRendered)
    return event


async def fetch(runtime: ServiceRuntime, object_key: str, user_id: UUID) -> bytes:
    try:
        reply = await runtime.ask(
            registry.CHART_GET, GetChart(producer="gateway", object_key=object_key, user_id=user_id)
        )
    except RemoteError as exc:
        if exc.code == "not_found":
            raise ChartError(404, "No such chart.") from exc
        raise ChartError(502, "The chart could not be fetched. Please try again.") from exc
    except ServiceUnavailable as exc:
        raise ChartError(503, "The chart service is not answering right now. Please try again.") from exc
    assert isinstance(reply, ChartReply)
    return base64.b64decode(reply.data_base64)


def key_of(content_hash: str) -> str:
    return f"charts/{content_hash[:2]}/{content_hash}.png"


def _problem(error: ChartError) -> PlainTextResponse:
    return PlainTextResponse(str(error), status_code=error.status, headers={"Cache-Control": "no-store"})


def _png(data: bytes, content_hash: str, cache: str) -> Response:
    return Response(
        data,
        media_type="image/png",
        headers={
            "ETag": f'"{content_hash}"',
            "Cache-Control": cache,
            "Content-Location": f"/markets/charts/{content_hash}.png",
        },
    )


@router.get("/markets/charts/{content_hash}.png")
async def chart_by_hash(content_hash: str, runtime: RuntimeDep, user: CurrentUser) -> Response:
    """A chart by its content hash: immutable, and only for a user who asked for it."""
    if not _HASH.match(content_hash):
        return _problem(ChartError(404, "No such chart."))
    try:
        data = await fetch(runtime, key_of(content_hash), user.user_id)
    except ChartError as error:
        return _problem(error)
    return _png(data, content_hash, "private, max-age=31536000, immutable")


@router.get("/markets/{venue}/{symbol}/chart.png")
async def chart_png(
    request: Request,
    venue: str,
    symbol: str,
    runtime: RuntimeDep,
    hub: HubDep,
    user: CurrentUser,
    timeframe: Timeframe = Timeframe.H1,
    indicators: str = "",
    theme: Literal["light", "dark"] = "dark",
    bars: Annotated[int, Query(ge=10, le=2000)] = 150,
    width: Annotated[int, Query(ge=320, le=2048)] = 960,
    height: Annotated[int, Query(ge=240, le=2048)] = 600,
) -> Response:
    try:
        ref = instrument_ref(venue, symbol)
        specs = parse(indicators)
    except ValidationError:
        return _problem(ChartError(404, "No such instrument."))
    except IndicatorChoiceError as exc:
        return _problem(ChartError(422, f"Indicators: {exc}"))
    try:
        rendered = await render(
            runtime,
            hub,
            user_id=user.user_id,
            ref=ref,
            timeframe=timeframe,
            indicators=specs,
            theme=theme,
            bars=bars,
            width=width,
            height=height,
        )
        if request.headers.get("if-none-match") == f'"{rendered.content_hash}"':
            return Response(status_code=304, headers={"ETag": f'"{rendered.content_hash}"'})
        data = await fetch(runtime, rendered.object_key, user.user_id)
    except ChartError as error:
        return _problem(error)
    # The chart of a window changes when the next bar closes: browsers revalidate after a minute.
    return _png(data, rendered.content_hash, "private, max-age=60")
