"""strategy: bots, decisions, backtests."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ._base import Command, Event, Money, Reply, Request, UserScoped, UtcDatetime
from .ai_analysis import Decision
from .common import IndicatorSpec, InstrumentRef, Timeframe
from .routing import cmd, evt, req


class BotSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    bot_id: UUID
    name: str
    instrument: InstrumentRef
    timeframe: Timeframe
    status: str


class ListBots(Request, UserScoped):
    pass


class BotsReply(Reply):
    bots: list[BotSummary]


class DecisionRecorded(Event, UserScoped):
    """Immutable record of one evaluation: what the AI said and what the risk rules made of it."""

    decision_id: UUID
    bot_id: UUID
    instrument: InstrumentRef
    candle_open_time: UtcDatetime
    decision: Decision
    risk_verdict: str = Field(description="'approved', or the rule that vetoed it")
    order_idempotency_key: str | None = None


class BotStateChanged(Event, UserScoped):
    bot_id: UUID
    status: str
    reason: str = ""


class RunBacktest(Command, UserScoped):
    backtest_id: UUID
    bot_id: UUID | None = None
    instrument: InstrumentRef
    timeframe: Timeframe
    start: UtcDatetime
    end: UtcDatetime
    indicators: list[IndicatorSpec] = Field(default_factory=list)
    strategy_text: str = Field(max_length=8000)
    initial_balance: Money = Field(default=10_000, gt=0)


class BacktestCompleted(Event, UserScoped):
    backtest_id: UUID
    trades: int
    net_profit: Money
    max_drawdown: Money
    win_rate: float = Field(ge=0, le=1)


class BacktestFailed(Event, UserScoped):
    backtest_id: UUID
    reason: str


# --- routes ------------------------------------------------------------------------------------------

BOTS_LIST = req("strategy", "bot", "list", ListBots, BotsReply, ["gateway"])
DECISION_RECORDED = evt("strategy", "decision", "recorded", DecisionRecorded, ["gateway"])
BOT_STATE_CHANGED = evt("strategy", "bot", "state-changed", BotStateChanged, ["gateway"])
BACKTEST_RUN = cmd("strategy", "backtest", "run", RunBacktest, ["gateway"])
BACKTEST_COMPLETED = evt("strategy", "backtest", "completed", BacktestCompleted, ["gateway"])
BACKTEST_FAILED = evt("strategy", "backtest", "failed", BacktestFailed, ["gateway"])
