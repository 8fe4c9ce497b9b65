"""ai-analysis: multimodal decisions with a validated JSON answer."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ._base import Command, Credits, Event, Money, Price, UserScoped
from .common import InstrumentRef, Timeframe
from .routing import cmd, evt, req  # noqa: F401


class Action(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"
    CLOSE = "CLOSE"


class AccountContext(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    currency: str
    balance: Money
    open_positions: int = 0
    position_side: str | None = None
    position_size: Money | None = None


class RunAnalysis(Command, UserScoped):
    request_id: UUID
    bot_id: UUID | None = None
    instrument: InstrumentRef
    timeframe: Timeframe
    chart_object_key: str
    indicators: dict[str, float | None] = Field(default_factory=dict, description="Latest indicator values")
    strategy_text: str = Field(max_length=8000)
    account: AccountContext | None = None
    hold_id: UUID | None = Field(default=None, description="Credit hold that pays for this analysis")


class Decision(BaseModel):
    """The validated answer of the model."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action: Action
    confidence: float = Field(ge=0, le=1)
    entry: Price | None = None
    stop_loss: Price | None = None
    take_profit: Price | None = None
    rationale: str = Field(max_length=4000)


class AnalysisCompleted(Event, UserScoped):
    request_id: UUID
    analysis_id: UUID
    bot_id: UUID | None = None
    decision: Decision
    model: str
    credits_used: Credits
    cached: bool = False


class AnalysisFailed(Event, UserScoped):
    request_id: UUID
    bot_id: UUID | None = None
    reason: str
    retryable: bool = False


# --- routes ------------------------------------------------------------------------------------------

ANALYSIS_RUN = cmd("ai-analysis", "analysis", "run", RunAnalysis, ["strategy"])
ANALYSIS_COMPLETED = evt(
    "ai-analysis", "analysis", "completed", AnalysisCompleted, ["strategy", "billing", "gateway"]
)
ANALYSIS_FAILED = evt("ai-analysis", "analysis", "failed", AnalysisFailed, ["strategy", "billing", "gateway"])
