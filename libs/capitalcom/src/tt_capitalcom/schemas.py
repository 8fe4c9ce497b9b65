"""Raw venue payloads as pydantic models.

Tolerant by design (the venue's shapes drift and clients see variants): unknown fields are
ignored, almost everything is optional, numbers may arrive as strings, and renamed fields are read
under both names. JSON is decoded with floats as `Decimal`, so prices, sizes and money stay exact.

Timestamps: `*_utc` fields are tz-aware UTC. The venue's plain `date`/`createdDate`/`updateTime`
fields are in the account's local time zone and are kept as naive datetimes on purpose; the
`timezoneOffset` of the session says how far they are from UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel


def _as_utc(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _from_epoch_ms(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    return value


UtcDateTime = Annotated[datetime, BeforeValidator(_as_utc)]
EpochMillis = Annotated[datetime, BeforeValidator(_from_epoch_ms)]


class VenueModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",
        frozen=True,
        coerce_numbers_to_str=True,
    )


# --- session and accounts -------------------------------------------------------------------


class EncryptionKey(VenueModel):
    encryption_key: str
    time_stamp: int


class ServerTime(VenueModel):
    server_time: EpochMillis


class Balance(VenueModel):
    balance: Decimal | None = None
    deposit: Decimal | None = None
    profit_loss: Decimal | None = None
    available: Decimal | None = None


class Account(VenueModel):
    account_id: str
    account_name: str | None = None
    status: str | None = None
    account_type: str | None = None
    preferred: bool = False
    currency: str | None = None
    symbol: str | None = None
    balance: Balance | None = None


class AccountsResponse(VenueModel):
    accounts: list[Account] = []


class CreatedSession(VenueModel):
    """Body of `POST /session` (the tokens themselves come back as response headers)."""

    account_type: str | None = None
    account_info: Balance | None = None
    currency_iso_code: str | None = None
    currency_symbol: str | None = None
    current_account_id: str | None = None
    streaming_host: str | None = None
    accounts: list[Account] = []
    client_id: str | None = None
    timezone_offset: Decimal | None = None
    has_active_demo_accounts: bool | None = None
    has_active_live_accounts: bool | None = None
    trailing_stops_enabled: bool | None = None


class SessionDetails(VenueModel):
    """Body of `GET /session`."""

    client_id: str | None = None
    account_id: str | None = None
    timezone_offset: Decimal | None = None
    locale: str | None = None
    currency: str | None = None
    stream_endpoint: str | None = None


class SwitchedAccount(VenueModel):
    trailing_stops_enabled: bool | None = None
    dealing_enabled: bool | None = None
    has_active_demo_accounts: bool | None = None
    has_active_live_accounts: bool | None = None


class LeverageSetting(VenueModel):
    current: Decimal | None = None
    available: list[Decimal] = []


class Preferences(VenueModel):
    hedging_mode: bool = False
    leverages: dict[str, LeverageSetting] = {}


class StatusResponse(VenueModel):
    status: str | None = None


# --- markets ----------------------------------------------------------------------------------


class MarketSummary(VenueModel):
    epic: str
    instrument_name: str | None = None
    symbol: str | None = None
    expiry: str | None = None
    instrument_type: str | None = None
    market_status: str | None = None
    lot_size: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    percentage_change: Decimal | None = None
    net_change: Decimal | None = None
    bid: Decimal | None = None
    offer: Decimal | None = None
    update_time: datetime | None = None
    update_time_utc: UtcDateTime | None = Field(default=None, alias="updateTimeUTC")
    delay_time: int | None = None
    streaming_prices_available: bool | None = None
    scaling_factor: Decimal | None = None
    market_modes: list[str] = []


class RuleValue(VenueModel):
    unit: str | None = None
    value: Decimal | None = None


class DealingRules(VenueModel):
    """`minStepDistance` is the price tick; the size step is `minSizeIncrement`."""

    min_step_distance: RuleValue | None = None
    min_deal_size: RuleValue | None = None
    max_deal_size: RuleValue | None = None
    min_size_increment: RuleValue | None = None
    # Current names first, the 2022 names second: the venue renamed these.
    min_guaranteed_stop_distance: RuleValue | None = Field(
        default=None,
        validation_alias=AliasChoices("minGuaranteedStopDistance", "minControlledRiskStopDistance"),
    )
    min_stop_or_profit_distance: RuleValue | None = Field(
        default=None, validation_alias=AliasChoices("minStopOrProfitDistance", "minNormalStopOrLimitDistance")
    )
    max_stop_or_profit_distance: RuleValue | None = Field(
        default=None, validation_alias=AliasChoices("maxStopOrProfitDistance", "maxStopOrLimitDistance")
    )
    market_order_preference: str | None = None
    trailing_stops_preference: str | None = None


class OpeningHours(VenueModel):
    """Per weekday a list of `"HH:MM - HH:MM"` segments in `zone`."""

    mon: list[str] = []
    tue: list[str] = []
    wed: list[str] = []
    thu: list[str] = []
    fri: list[str] = []
    sat: list[str] = []
    sun: list[str] = []
    zone: str | None = None


class OvernightFee(VenueModel):
    long_rate: Decimal | None = None
    short_rate: Decimal | None = None
    swap_charge_timestamp: EpochMillis | None = None
    swap_charge_interval: int | None = None


class Instrument(VenueModel):
    epic: str
    symbol: str | None = None
    expiry: str | None = None
    name: str | None = None
    lot_size: Decimal | None = None
    type: str | None = None
    guaranteed_stop_allowed: bool | None = Field(
        default=None, validation_alias=AliasChoices("guaranteedStopAllowed", "controlledRiskAllowed")
    )
    streaming_prices_available: bool | None = None
    currency: str | None = None
    margin_factor: Decimal | None = None
    margin_factor_unit: str | None = None
    opening_hours: OpeningHours | None = None
    country: str | None = None
    overnight_fee: OvernightFee | None = None


class MarketSnapshot(VenueModel):
    market_status: str | None = None
    net_change: Decimal | None = None
    percentage_change: Decimal | None = None
    update_time: datetime | None = None
    delay_time: int | None = None
    bid: Decimal | None = None
    offer: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    decimal_places_factor: int | None = None
    scaling_factor: Decimal | None = None
    market_modes: list[str] = []


class MarketDetails(VenueModel):
    instrument: Instrument
    dealing_rules: DealingRules | None = None
    snapshot: MarketSnapshot | None = None


class MarketsResponse(VenueModel):
    markets: list[MarketSummary] = []


class MarketDetailsResponse(VenueModel):
    market_details: list[MarketDetails] = []


class NavigationNode(VenueModel):
    id: str
    name: str | None = None


class MarketNavigation(VenueModel):
    nodes: list[NavigationNode] = []
    markets: list[MarketSummary] = []


# --- prices -----------------------------------------------------------------------------------


class BidAsk(VenueModel):
    bid: Decimal | None = None
    ask: Decimal | None = None


class HistoricalBar(VenueModel):
    """One `/prices` bar; `snapshot_time_utc` is the bar's open time."""

    snapshot_time: datetime | None = None
    snapshot_time_utc: UtcDateTime = Field(alias="snapshotTimeUTC")
    open_price: BidAsk
    close_price: BidAsk
    high_price: BidAsk
    low_price: BidAsk
    last_traded_volume: Decimal | None = None


class PricesResponse(VenueModel):
    prices: list[HistoricalBar] = []
    instrument_type: str | None = None


# --- trading ----------------------------------------------------------------------------------


class Position(VenueModel):
    deal_id: str
    deal_reference: str | None = None
    working_order_id: str | None = None
    direction: str
    size: Decimal
    level: Decimal | None = None
    currency: str | None = None
    contract_size: Decimal | None = None
    leverage: Decimal | None = None
    upl: Decimal | None = None
    created_date: datetime | None = None
    created_date_utc: UtcDateTime | None = Field(default=None, alias="createdDateUTC")
    guaranteed_stop: bool | None = None
    trailing_stop: bool | None = None
    stop_level: Decimal | None = None
    stop_distance: Decimal | None = None
    profit_level: Decimal | None = None


class PositionEntry(VenueModel):
    position: Position
    market: MarketSummary | None = None


class PositionsResponse(VenueModel):
    positions: list[PositionEntry] = []


class WorkingOrder(VenueModel):
    deal_id: str
    epic: str
    direction: str
    order_size: Decimal | None = None
    order_level: Decimal | None = None
    order_type: str | None = None
    time_in_force: str | None = None
    good_till_date: datetime | None = None
    good_till_date_utc: UtcDateTime | None = Field(default=None, alias="goodTillDateUTC")
    created_date: datetime | None = None
    created_date_utc: UtcDateTime | None = Field(default=None, alias="createdDateUTC")
    leverage: Decimal | None = None
    guaranteed_stop: bool | None = None
    trailing_stop: bool | None = None
    stop_level: Decimal | None = None
    stop_distance: Decimal | None = None
    profit_level: Decimal | None = None
    profit_distance: Decimal | None = None
    currency_code: str | None = None


class WorkingOrderEntry(VenueModel):
    working_order_data: WorkingOrder
    market_data: MarketSummary | None = None


class WorkingOrdersResponse(VenueModel):
    working_orders: list[WorkingOrderEntry] = []


class DealReference(VenueModel):
    deal_reference: str


class AffectedDeal(VenueModel):
    deal_id: str
    status: str | None = None


class DealConfirmation(VenueModel):
    """`GET /confirms/{dealReference}`. Only `deal_status` says whether the deal happened."""

    deal_reference: str | None = None
    deal_status: str | None = None
    status: str | None = None
    reason: str | None = None
    reject_reason: str | None = None
    date: datetime | None = None
    epic: str | None = None
    deal_id: str | None = None
    affected_deals: list[AffectedDeal] = []
    level: Decimal | None = None
    size: Decimal | None = None
    direction: str | None = None
    guaranteed_stop: bool | None = None
    trailing_stop: bool | None = None
    stop_level: Decimal | None = None
    stop_distance: Decimal | None = None
    profit_level: Decimal | None = None
    profit_distance: Decimal | None = None
    profit: Decimal | None = None
    profit_currency: str | None = None

    @property
    def accepted(self) -> bool:
        return self.deal_status == "ACCEPTED"

    @property
    def rejected(self) -> bool:
        return self.deal_status == "REJECTED"

    @property
    def rejection_reason(self) -> str | None:
        return self.reject_reason or self.reason


# --- history ----------------------------------------------------------------------------------


class ActivityDetails(VenueModel):
    deal_reference: str | None = None
    working_order_id: str | None = None
    market_name: str | None = None
    currency: str | None = None
    size: Decimal | None = None
    direction: str | None = None
    level: Decimal | None = None
    stop_level: Decimal | None = None
    profit_level: Decimal | None = None
    guaranteed_stop: bool | None = None


class Activity(VenueModel):
    date: datetime | None = None
    date_utc: UtcDateTime = Field(alias="dateUTC")
    epic: str | None = None
    deal_id: str | None = None
    source: str | None = None
    type: str | None = None
    status: str | None = None
    details: ActivityDetails | None = None


class ActivitiesResponse(VenueModel):
    activities: list[Activity] = []


class Transaction(VenueModel):
    """`size` is the money amount (the venue sends it as a string)."""

    date: datetime | None = None
    date_utc: UtcDateTime = Field(alias="dateUtc")
    instrument_name: str | None = None
    transaction_type: str | None = None
    note: str | None = None
    reference: str | None = None
    size: Decimal | None = None
    currency: str | None = None


class TransactionsResponse(VenueModel):
    transactions: list[Transaction] = []


# --- streaming --------------------------------------------------------------------------------


class QuotePayload(VenueModel):
    """`ofr` is the ask. `bid`/`ofr` can be null and `timestamp` absent in rare frames."""

    epic: str
    product: str | None = None
    bid: Decimal | None = None
    bid_qty: Decimal | None = None
    ofr: Decimal | None = None
    ofr_qty: Decimal | None = None
    timestamp: EpochMillis | None = None


class OhlcPayload(VenueModel):
    """A closed bar; `t` is its open time. Sent twice per bar, `price_type` bid and ask."""

    epic: str
    resolution: str
    type: str | None = None
    price_type: str | None = None
    t: EpochMillis
    o: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 - the venue's field name
    c: Decimal


class StreamFrame(VenueModel):
    """Any server frame. Error frames carry `errorCode` in the payload or at the top level."""

    status: str | None = None
    destination: str | None = None
    correlation_id: str | None = None
    payload: dict[str, Any] | None = None
    error_code: str | None = None

    @property
    def venue_error_code(self) -> str | None:
        nested = (self.payload or {}).get("errorCode")
        return self.error_code or (str(nested) if nested is not None else None)
