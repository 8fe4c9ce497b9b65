"""The registry: every subject of the platform, who produces it, who consumes it, and its model.

This table is the readable map of who says what. Tests check that every subscriber and publisher in
the code is listed here, docs render it, and stream provisioning and schema generation read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from . import ai_analysis as ai
from . import billing, broker, chart_render, gateway, identity, strategy
from . import market_data as md
from ._base import Message
from .common import StatusReply, StatusRequest
from .streams import StreamSpec, stream_for
from .subjects import SERVICES, Subject, status_subject


@dataclass(frozen=True)
class Route:
    subject: Subject
    model: type[Message]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    reply: type[BaseModel] | None = None
    summary: str = ""

    @property
    def stream(self) -> StreamSpec | None:
        return None if self.subject.kind == "req" else stream_for(self.subject.pattern)

    @property
    def owner(self) -> str:
        return self.subject.domain


def _evt(domain: str, aggregate: str, name: str, model, consumers=(), keys=(), summary="") -> Route:
    return Route(
        Subject(domain, "evt", aggregate, name, 1, tuple(keys)),
        model,
        (domain,),
        tuple(consumers),
        summary=summary,
    )


def _cmd(domain: str, aggregate: str, name: str, model, producers, summary="") -> Route:
    return Route(Subject(domain, "cmd", aggregate, name), model, tuple(producers), (domain,), summary=summary)


def _req(domain: str, aggregate: str, name: str, model, reply, callers, summary="") -> Route:
    return Route(
        Subject(domain, "req", aggregate, name),
        model,
        tuple(callers),
        (domain,),
        reply=reply,
        summary=summary,
    )


# Named routes, so code refers to routes, never to subject strings.
# --- status (every service) -------------------------------------------------------------------
STATUS: dict[str, Route] = {
    svc: Route(
        status_subject(svc),
        StatusRequest,
        ("gateway",),
        (svc,),
        reply=StatusReply,
        summary="Version, uptime, database and stream lag",
    )
    for svc in SERVICES
}

# --- identity ---------------------------------------------------------------------------------
USER_REGISTER = _req(
    "identity",
    "user",
    "register",
    identity.RegisterUser,
    identity.UserRegisteredReply,
    ["gateway"],
    "Sign-up with email and password",
)
USER_AUTHENTICATE = _req(
    "identity",
    "user",
    "authenticate",
    identity.AuthenticateUser,
    identity.TokenPair,
    ["gateway"],
    "Password sign-in; returns an access/refresh token pair",
)
JWKS_GET = _req(
    "identity",
    "jwks",
    "get",
    identity.GetJwks,
    identity.JwksReply,
    ["gateway"],
    "Public keys that verify access tokens",
)
USER_REGISTERED = _evt(
    "identity",
    "user",
    "registered",
    identity.UserRegistered,
    ["billing", "gateway"],
    summary="New account; billing grants welcome credits",
)
EMAIL_VERIFIED = _evt("identity", "user", "email-verified", identity.EmailVerified, ["gateway"])
ROLE_CHANGED = _evt("identity", "user", "role-changed", identity.UserRoleChanged, ["gateway"])

# --- broker -----------------------------------------------------------------------------------
ACCOUNT_CONNECT = _req(
    "broker",
    "account",
    "connect",
    broker.ConnectAccount,
    broker.AccountConnectedReply,
    ["gateway"],
    "Validate, encrypt and store broker credentials",
)
ACCOUNT_CONNECTED = _evt("broker", "account", "connected", broker.AccountConnected, ["gateway", "strategy"])
ACCOUNT_DISCONNECTED = _evt(
    "broker", "account", "disconnected", broker.AccountDisconnected, ["gateway", "strategy"]
)
BALANCE_CHANGED = _evt("broker", "account", "balance-changed", broker.BalanceChanged, ["gateway", "strategy"])
ORDER_PLACE = _cmd(
    "broker",
    "order",
    "place",
    broker.PlaceOrder,
    ["strategy", "gateway"],
    "Place one order for one intent (idempotency key, expires_at)",
)
ORDER_CANCEL = _cmd("broker", "order", "cancel", broker.CancelOrder, ["strategy", "gateway"])
POSITION_CLOSE = _cmd("broker", "position", "close", broker.ClosePosition, ["strategy", "gateway"])
ORDER_ACCEPTED = _evt("broker", "order", "accepted", broker.OrderAccepted, ["strategy", "gateway"])
ORDER_REJECTED = _evt("broker", "order", "rejected", broker.OrderRejected, ["strategy", "gateway"])
ORDER_FILLED = _evt("broker", "order", "filled", broker.OrderFilled, ["strategy", "gateway"])
ORDER_CANCELLED = _evt("broker", "order", "cancelled", broker.OrderCancelled, ["strategy", "gateway"])
POSITION_OPENED = _evt("broker", "position", "opened", broker.PositionOpened, ["strategy", "gateway"])
POSITION_CLOSED = _evt("broker", "position", "closed", broker.PositionClosed, ["strategy", "gateway"])
POSITIONS_LIST = _req(
    "broker", "positions", "list", broker.ListPositions, broker.PositionsReply, ["gateway", "strategy"]
)
ACCOUNT_SUMMARY = _req(
    "broker",
    "account",
    "summary",
    broker.GetAccountSummary,
    broker.AccountSummaryReply,
    ["gateway", "strategy"],
)

# --- market-data ------------------------------------------------------------------------------
QUOTE_UPDATED = _evt(
    "market-data",
    "quote",
    "updated",
    md.QuoteUpdated,
    ["gateway", "broker"],
    keys=("venue", "symbol"),
    summary="Last value per instrument (memory stream)",
)
CANDLE_CLOSED = _evt(
    "market-data",
    "candle",
    "closed",
    md.CandleClosed,
    ["strategy", "gateway"],
    keys=("venue", "symbol", "timeframe"),
    summary="Exactly once per bar",
)
CANDLES_GET = _req(
    "market-data",
    "candles",
    "get",
    md.GetCandles,
    md.CandlesReply,
    ["gateway", "strategy", "chart-render"],
    "Columnar candles with optional indicators",
)
INSTRUMENTS_SEARCH = _req(
    "market-data", "instruments", "search", md.SearchInstruments, md.InstrumentsReply, ["gateway", "strategy"]
)
QUOTE_LATEST = _req(
    "market-data",
    "quote",
    "latest",
    md.GetLatestQuote,
    md.LatestQuoteReply,
    ["gateway", "strategy", "broker"],
)

# --- chart-render -----------------------------------------------------------------------------
CHART_RENDER = _cmd("chart-render", "chart", "render", chart_render.RenderChart, ["strategy", "gateway"])
CHART_RENDERED = _evt(
    "chart-render", "chart", "rendered", chart_render.ChartRendered, ["strategy", "gateway"]
)
CHART_FAILED = _evt("chart-render", "chart", "failed", chart_render.ChartFailed, ["strategy", "gateway"])

# --- ai-analysis ------------------------------------------------------------------------------
ANALYSIS_RUN = _cmd("ai-analysis", "analysis", "run", ai.RunAnalysis, ["strategy"])
ANALYSIS_COMPLETED = _evt(
    "ai-analysis", "analysis", "completed", ai.AnalysisCompleted, ["strategy", "billing", "gateway"]
)
ANALYSIS_FAILED = _evt(
    "ai-analysis", "analysis", "failed", ai.AnalysisFailed, ["strategy", "billing", "gateway"]
)

# --- strategy ---------------------------------------------------------------------------------
BOTS_LIST = _req("strategy", "bot", "list", strategy.ListBots, strategy.BotsReply, ["gateway"])
DECISION_RECORDED = _evt("strategy", "decision", "recorded", strategy.DecisionRecorded, ["gateway"])
BOT_STATE_CHANGED = _evt("strategy", "bot", "state-changed", strategy.BotStateChanged, ["gateway"])
BACKTEST_RUN = _cmd("strategy", "backtest", "run", strategy.RunBacktest, ["gateway"])
BACKTEST_COMPLETED = _evt("strategy", "backtest", "completed", strategy.BacktestCompleted, ["gateway"])
BACKTEST_FAILED = _evt("strategy", "backtest", "failed", strategy.BacktestFailed, ["gateway"])

# --- billing ----------------------------------------------------------------------------------
HOLD_CREATE = _cmd("billing", "hold", "create", billing.CreateHold, ["strategy"])
HOLD_CAPTURE = _cmd("billing", "hold", "capture", billing.CaptureHold, ["strategy"])
HOLD_RELEASE = _cmd("billing", "hold", "release", billing.ReleaseHold, ["strategy"])
HOLD_CREATED = _evt("billing", "hold", "created", billing.HoldCreated, ["strategy"])
HOLD_REJECTED = _evt("billing", "hold", "rejected", billing.HoldRejected, ["strategy", "gateway"])
HOLD_CAPTURED = _evt("billing", "hold", "captured", billing.HoldCaptured, ["strategy", "gateway"])
HOLD_RELEASED = _evt("billing", "hold", "released", billing.HoldReleased, ["strategy", "gateway"])
CREDITS_GRANTED = _evt("billing", "credits", "granted", billing.CreditsGranted, ["gateway"])
CHECKOUT_CREATE = _req(
    "billing",
    "checkout",
    "create",
    billing.CreateCheckout,
    billing.CheckoutReply,
    ["gateway"],
    "Start a Stripe Checkout session for a credit package",
)
BALANCE_GET = _req(
    "billing", "balance", "get", billing.GetBalance, billing.BalanceReply, ["gateway", "strategy"]
)

# --- gateway ----------------------------------------------------------------------------------
STRIPE_WEBHOOK_RECEIVED = _evt(
    "gateway",
    "stripe-webhook",
    "received",
    gateway.StripeWebhookReceived,
    ["billing"],
    summary="Signature-verified Stripe event",
)


ROUTES: tuple[Route, ...] = tuple(STATUS.values()) + tuple(
    value for name, value in sorted(globals().items()) if isinstance(value, Route) and name.isupper()
)
ROUTES_BY_BASE: dict[str, Route] = {r.subject.base: r for r in ROUTES}


def route_for(subject: str) -> Route:
    """The route of a concrete subject (keys included) or of a base subject."""
    for route in ROUTES:
        if route.subject.base == subject or route.subject.matches(subject):
            return route
    raise KeyError(f"subject {subject!r} is not in the registry")


def produced_by(service: str) -> tuple[Route, ...]:
    return tuple(r for r in ROUTES if service in r.producers)


def consumed_by(service: str) -> tuple[Route, ...]:
    return tuple(r for r in ROUTES if service in r.consumers)
