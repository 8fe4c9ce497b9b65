"""chart-render: server-side charts. Images never travel on the bus, only their object keys."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ._base import Command, Event, Price, Reply, Request, UtcDatetime
from .common import IndicatorSpec, InstrumentRef, Timeframe
from .routing import cmd, evt, req


class Annotation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["entry", "exit", "stop", "target", "level", "label"]
    price: Price | None = None
    at: UtcDatetime | None = None
    text: str = Field(default="", max_length=200)


class RenderChart(Command):
    request_id: UUID = Field(description="Correlates the rendered event with the requester's work item")
    user_id: UUID | None = None
    instrument: InstrumentRef
    timeframe: Timeframe
    end: UtcDatetime
    bars: int = Field(default=150, ge=10, le=2000)
    indicators: list[IndicatorSpec] = Field(default_factory=list)
    annotations: list[Annotation] = Field(default_factory=list)
    width: int = Field(default=1280, ge=320, le=4096)
    height: int = Field(default=800, ge=240, le=4096)
    theme: Literal["light", "dark"] = "dark"


class ChartRendered(Event):
    request_id: UUID
    user_id: UUID | None = None
    object_key: str
    content_hash: str
    size_bytes: int
    width: int
    height: int


class ChartFailed(Event):
    request_id: UUID
    user_id: UUID | None = None
    reason: str


class GetChart(Request):
    """Fetch a rendered chart by the object key of its ``chart.rendered`` event (for the gateway)."""

    object_key: str = Field(pattern=r"^charts/[0-9a-f]{2}/[0-9a-f]{64}\.png$")
    user_id: UUID | None = Field(
        default=None, description="The asking user: a chart rendered for another user answers not_found"
    )


class ChartReply(Reply):
    """The PNG itself, base64-encoded (charts are ~50-300 KB, well under the NATS payload limit)."""

    object_key: str
    content_type: str = "image/png"
    size_bytes: int
    data_base64: str


# --- routes ------------------------------------------------------------------------------------------

CHART_RENDER = cmd("chart-render", "chart", "render", RenderChart, ["strategy", "gateway"])
CHART_RENDERED = evt("chart-render", "chart", "rendered", ChartRendered, ["strategy", "gateway"])
CHART_FAILED = evt("chart-render", "chart", "failed", ChartFailed, ["strategy", "gateway"])
CHART_GET = req(
    "chart-render", "chart", "get", GetChart, ChartReply, ["gateway"], "A rendered PNG by object key, base64"
)
