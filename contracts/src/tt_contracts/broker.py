"""broker: broker accounts, orders, positions."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._base import Command, Event, Money, Price, Reply, Request, Size, UserScoped, UtcDatetime, WireSecret
from .common import InstrumentRef, Side
from .routing import cmd, evt, req


class BrokerEnvironment(StrEnum):
    DEMO = "demo"
    LIVE = "live"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"


class Protection(BaseModel):
    """Exits attached to a position. Levels are absolute prices; distances are in price units."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stop_level: Price | None = None
    stop_distance: Price | None = None
    profit_level: Price | None = None
    profit_distance: Price | None = None
    trailing_stop: bool = False
    guaranteed_stop: bool = False


class ConnectAccount(Request, UserScoped):
    """Credentials go straight to the broker service, which encrypts them; never logged or re-emitted."""

    broker: str = "capitalcom"
    environment: BrokerEnvironment = BrokerEnvironment.DEMO
    identifier: str = Field(min_length=1)
    api_key: WireSecret
    api_key_password: WireSecret
    label: str = Field(default="", max_length=80)


class AccountConnectedReply(Reply):
    account_id: UUID
    broker: str
    environment: BrokerEnvironment
    currency: str
    balance: Money


class AccountConnected(Event, UserScoped):
    account_id: UUID
    broker: str
    environment: BrokerEnvironment
    currency: str


class AccountDisconnected(Event, UserScoped):
    account_id: UUID


class BalanceChanged(Event, UserScoped):
    account_id: UUID
    currency: str
    balance: Money
    available: Money
    profit_loss: Money


class OcoLeg(BaseModel):
    """The second working order of a one-cancels-other pair (same size as the primary order).

    Capital.com has no native OCO: the broker service watches both legs and cancels the survivor
    as soon as either fills."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    side: Side
    order_type: OrderType
    level: Price
    protection: Protection = Field(default_factory=Protection)

    @model_validator(mode="after")
    def _working_order(self) -> OcoLeg:
        if self.order_type is OrderType.MARKET:
            raise ValueError("an OCO leg is a working order: LIMIT or STOP")
        return self


class PlaceOrder(Command, UserScoped):
    """One decision, one intent: ``idempotency_key`` is unique per intent; at most one venue request."""

    account_id: UUID | None = Field(default=None, description="None means the built-in paper broker")
    idempotency_key: str = Field(min_length=8, max_length=128)
    instrument: InstrumentRef
    side: Side
    size: Size = Field(gt=0)
    order_type: OrderType = OrderType.MARKET
    level: Price | None = Field(default=None, description="Limit or stop level for working orders")
    protection: Protection = Field(default_factory=Protection)
    bot_id: UUID | None = None
    decision_id: UUID | None = None
    oco: OcoLeg | None = Field(default=None, description="A second working order; a fill cancels the other")

    @model_validator(mode="after")
    def _oco_pairs_working_orders(self) -> PlaceOrder:
        # A missing level is the service's clear order.rejected, not a schema error (see the handler).
        if self.oco is not None and self.order_type is OrderType.MARKET:
            raise ValueError("OCO pairs two working orders: the primary must be LIMIT or STOP")
        return self


class CancelOrder(Command, UserScoped):
    account_id: UUID | None = None
    idempotency_key: str = Field(min_length=8, max_length=128)
    order_id: UUID


class ClosePosition(Command, UserScoped):
    account_id: UUID | None = None
    idempotency_key: str = Field(min_length=8, max_length=128)
    position_id: UUID
    size: Size | None = Field(default=None, gt=0, description="None closes the whole position")


class OrderAccepted(Event, UserScoped):
    order_id: UUID
    idempotency_key: str
    account_id: UUID | None
    instrument: InstrumentRef
    side: Side
    size: Size
    order_type: OrderType
    deal_reference: str | None = None
    bot_id: UUID | None = None
    decision_id: UUID | None = None


class OrderRejected(Event, UserScoped):
    idempotency_key: str
    account_id: UUID | None
    reason_code: str
    reason: str
    bot_id: UUID | None = None
    decision_id: UUID | None = None


class OrderFilled(Event, UserScoped):
    order_id: UUID
    idempotency_key: str
    account_id: UUID | None
    position_id: UUID
    instrument: InstrumentRef
    side: Side
    size: Size
    price: Price
    bot_id: UUID | None = None
    decision_id: UUID | None = None


class OrderCancelled(Event, UserScoped):
    order_id: UUID
    account_id: UUID | None
    reason: str = ""


class PositionOpened(Event, UserScoped):
    position_id: UUID
    account_id: UUID | None
    instrument: InstrumentRef
    side: Side
    size: Size
    open_price: Price
    protection: Protection = Field(default_factory=Protection)


class PositionClosed(Event, UserScoped):
    position_id: UUID
    account_id: UUID | None
    instrument: InstrumentRef
    close_price: Price
    realized_pnl: Money
    currency: str


class ListPositions(Request, UserScoped):
    account_id: UUID | None = None


class PositionView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    position_id: UUID
    account_id: UUID | None
    instrument: InstrumentRef
    side: Side
    size: Size
    open_price: Price
    unrealized_pnl: Money
    protection: Protection
    protection_status: str = Field(
        default="missing",
        description="native: the venue holds the stop | emulated: the broker service manages it | missing",
    )
    current_price: Price | None = None
    opened_at: UtcDatetime | None = None


class PositionsReply(Reply):
    positions: list[PositionView]


class GetAccountSummary(Request, UserScoped):
    account_id: UUID


class AccountSummaryReply(Reply):
    account_id: UUID
    currency: str
    balance: Money
    available: Money
    margin: Money
    profit_loss: Money
    circuit_state: str | None = Field(
        default=None, description="closed | open: new entries paused | half_open: the next entry is a trial"
    )
    circuit_open_until: UtcDatetime | None = None
    as_of: UtcDatetime | None = None


class DisconnectAccount(Request, UserScoped):
    """Stop trading on an account and delete its stored credentials."""

    account_id: UUID


class AccountDisconnectedReply(Reply):
    account_id: UUID


class ListAccounts(Request, UserScoped):
    pass


class AccountView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    account_id: UUID
    broker: str
    environment: BrokerEnvironment
    label: str
    currency: str
    status: str
    circuit_state: str
    session_state: str | None = Field(default=None, description="active | failing | unknown")
    last_error: str | None = None
    connected_at: UtcDatetime | None = None


class AccountsReply(Reply):
    accounts: list[AccountView]


class PositionChanged(Event, UserScoped):
    """The venue reports a different size or protection for an open position."""

    position_id: UUID
    account_id: UUID | None
    instrument: InstrumentRef
    size: Size
    protection: Protection = Field(default_factory=Protection)


class ListOrders(Request, UserScoped):
    """Working orders (limit/stop) the service placed and that are still live."""

    account_id: UUID | None = None


class OrderView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    order_id: UUID
    account_id: UUID | None
    instrument: InstrumentRef
    side: Side
    size: Size
    order_type: OrderType
    level: Price | None
    state: str
    deal_id: str | None
    oco_group: UUID | None = Field(default=None, description="Shared by the two legs of an OCO pair")
    protection: Protection = Field(default_factory=Protection)
    created_at: UtcDatetime | None = None


class OrdersReply(Reply):
    orders: list[OrderView]


class ListIntents(Request, UserScoped):
    """The intent log: every place/close/cancel decision, its attempts, venue replies and reconciliation."""

    account_id: UUID | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    epic: str | None = Field(default=None, max_length=64)
    side: Side | None = None
    state: str | None = Field(default=None, max_length=32)
    intent_kind: str | None = Field(default=None, max_length=32, description="place | close | cancel")
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None


class IntentView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    intent_id: UUID
    idempotency_key: str
    kind: str
    account_id: UUID | None
    instrument: InstrumentRef | None
    side: Side | None
    size: Size | None
    state: str
    reason_code: str | None
    reason: str | None
    attempts: int
    deal_reference: str | None
    deal_id: str | None
    venue_replies: list[dict[str, Any]]
    reconciliation: dict[str, Any] | None
    created_at: UtcDatetime
    sent_at: UtcDatetime | None


class IntentsReply(Reply):
    intents: list[IntentView]


class TestAccount(Request, UserScoped):
    """Open a fresh session with the stored credentials and report how the venue answered."""

    account_id: UUID


class AccountTestReply(Reply):
    account_id: UUID
    ok: bool
    latency_ms: float
    detail: str = ""


class RiskLimits(BaseModel):
    """Per-account limits checked before every new entry. None keeps the service default."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    max_position_size: Size | None = Field(default=None, gt=0)
    max_open_positions: int | None = Field(default=None, ge=0, le=10_000)
    daily_loss_limit: Money | None = Field(default=None, ge=0)


class GetRiskLimits(Request, UserScoped):
    account_id: UUID | None = Field(default=None, description="None means the built-in paper broker")


class SetRiskLimits(Request, UserScoped):
    account_id: UUID | None = Field(default=None, description="None means the built-in paper broker")
    limits: RiskLimits


class RiskLimitsReply(Reply):
    account_id: UUID | None
    limits: RiskLimits = Field(description="The limits in force, defaults filled in")


# --- routes ------------------------------------------------------------------------------------------

ACCOUNT_CONNECT = req(
    "broker",
    "account",
    "connect",
    ConnectAccount,
    AccountConnectedReply,
    ["gateway"],
    "Validate, encrypt and store broker credentials",
)
ACCOUNT_CONNECTED = evt("broker", "account", "connected", AccountConnected, ["gateway", "strategy"])
ACCOUNT_DISCONNECTED = evt("broker", "account", "disconnected", AccountDisconnected, ["gateway", "strategy"])
BALANCE_CHANGED = evt("broker", "account", "balance-changed", BalanceChanged, ["gateway", "strategy"])
ORDER_PLACE = cmd(
    "broker",
    "order",
    "place",
    PlaceOrder,
    ["strategy", "gateway"],
    "Place one order for one intent (idempotency key, expires_at)",
)
ORDER_CANCEL = cmd("broker", "order", "cancel", CancelOrder, ["strategy", "gateway"])
POSITION_CLOSE = cmd("broker", "position", "close", ClosePosition, ["strategy", "gateway"])
ORDER_ACCEPTED = evt("broker", "order", "accepted", OrderAccepted, ["strategy", "gateway"])
ORDER_REJECTED = evt("broker", "order", "rejected", OrderRejected, ["strategy", "gateway"])
ORDER_FILLED = evt("broker", "order", "filled", OrderFilled, ["strategy", "gateway"])
ORDER_CANCELLED = evt("broker", "order", "cancelled", OrderCancelled, ["strategy", "gateway"])
POSITION_OPENED = evt("broker", "position", "opened", PositionOpened, ["strategy", "gateway"])
POSITION_CLOSED = evt("broker", "position", "closed", PositionClosed, ["strategy", "gateway"])
POSITIONS_LIST = req("broker", "positions", "list", ListPositions, PositionsReply, ["gateway", "strategy"])
ACCOUNT_SUMMARY = req(
    "broker",
    "account",
    "summary",
    GetAccountSummary,
    AccountSummaryReply,
    ["gateway", "strategy"],
)
ACCOUNT_DISCONNECT = req(
    "broker",
    "account",
    "disconnect",
    DisconnectAccount,
    AccountDisconnectedReply,
    ["gateway"],
    "Stop trading on an account and delete its credentials",
)
ACCOUNTS_LIST = req("broker", "accounts", "list", ListAccounts, AccountsReply, ["gateway", "strategy"])
POSITION_CHANGED = evt("broker", "position", "changed", PositionChanged, ["strategy", "gateway"])
ORDERS_LIST = req("broker", "orders", "list", ListOrders, OrdersReply, ["gateway", "strategy"])
INTENTS_LIST = req(
    "broker",
    "intents",
    "list",
    ListIntents,
    IntentsReply,
    ["gateway", "strategy"],
    "The intent log: attempts, venue replies, reconciliation outcome",
)
ACCOUNT_TEST = req(
    "broker",
    "account",
    "test",
    TestAccount,
    AccountTestReply,
    ["gateway"],
    "Open a fresh venue session with the stored credentials",
)
RISK_LIMITS_GET = req("broker", "risk-limits", "get", GetRiskLimits, RiskLimitsReply, ["gateway", "strategy"])
RISK_LIMITS_SET = req(
    "broker",
    "risk-limits",
    "set",
    SetRiskLimits,
    RiskLimitsReply,
    ["gateway"],
    "Set an account's risk limits",
)
