"""The reference's sample payloads (and the quirks it lists) parse into exact, typed values."""

from datetime import UTC, datetime
from decimal import Decimal

from tt_capitalcom.parse import decode_json
from tt_capitalcom.schemas import (
    ActivitiesResponse,
    CreatedSession,
    DealConfirmation,
    MarketDetails,
    MarketNavigation,
    MarketsResponse,
    OhlcPayload,
    PositionsResponse,
    Preferences,
    PricesResponse,
    QuotePayload,
    StreamFrame,
    TransactionsResponse,
    WorkingOrdersResponse,
)


def parse(model, raw: str):
    return model.model_validate(decode_json(raw))


def test_created_session_keeps_money_exact_and_ignores_unknown_fields():
    session = parse(
        CreatedSession,
        """{"accountType": "CFD", "accountInfo": {"balance": 92.89, "deposit": 90.38, "profitLoss": 2.51,
        "available": 64.66}, "currencyIsoCode": "USD", "currencySymbol": "$",
        "currentAccountId": "12345678901234567",
        "streamingHost": "wss://api-streaming-capital.backend-capital.com/",
        "accounts": [{"accountId": "12345678901234567", "accountName": "USD", "preferred": true,
          "accountType": "CFD", "currency": "USD", "symbol": "$",
          "balance": {"balance": 92.89, "deposit": 90.38, "profitLoss": 2.51, "available": 64.66}},
          {"accountId": "12345678907654321", "accountName": "EUR", "preferred": false}],
        "clientId": "12345678", "timezoneOffset": 3, "hasActiveDemoAccounts": true,
        "hasActiveLiveAccounts": true, "trailingStopsEnabled": false, "somethingNew": [1, 2]}""",
    )
    assert session.account_info.available == Decimal("64.66")
    assert session.accounts[0].balance.profit_loss == Decimal("2.51")
    assert session.accounts[1].balance is None
    assert session.timezone_offset == 3
    assert session.streaming_host == "wss://api-streaming-capital.backend-capital.com/"


def test_preferences_leverages():
    prefs = parse(
        Preferences,
        """{"hedgingMode": false, "leverages": {"SHARES": {"current": 2, "available": [1, 2, 3, 5]},
        "CURRENCIES": {"current": 1, "available": [1, 10, 20, 30]}}}""",
    )
    assert prefs.hedging_mode is False
    assert prefs.leverages["CURRENCIES"].available[-1] == 30


MARKET_DETAILS_CURRENT = """{ "instrument": {
    "epic": "OPEN", "symbol": "OPEN", "expiry": "-", "name": "Opendoor Technologies Inc", "lotSize": 1,
    "type": "SHARES", "guaranteedStopAllowed": true, "streamingPricesAvailable": true, "currency": "USD",
    "marginFactor": 20, "marginFactorUnit": "PERCENTAGE",
    "openingHours": { "mon": ["13:30 - 20:00"], "tue": ["13:30 - 20:00"], "wed": ["13:30 - 20:00"],
      "thu": ["13:30 - 20:00"], "fri": ["13:30 - 20:00"], "sat": [], "sun": [], "zone": "UTC" },
    "country": "United States of America",
    "overnightFee": { "longRate": -0.0234291, "shortRate": 0.0012069,
                      "swapChargeTimestamp": 1755896400000, "swapChargeInterval": 1440 } },
  "dealingRules": {
    "minStepDistance": { "unit": "POINTS", "value": 0.01 },
    "minDealSize": { "unit": "POINTS", "value": 10 },
    "maxDealSize": { "unit": "POINTS", "value": 26390 },
    "minSizeIncrement": { "unit": "POINTS", "value": 0.1 },
    "minGuaranteedStopDistance": { "unit": "PERCENTAGE", "value": 75 },
    "minStopOrProfitDistance": { "unit": "PERCENTAGE", "value": 0.1 },
    "maxStopOrProfitDistance": { "unit": "PERCENTAGE", "value": 100 },
    "marketOrderPreference": "AVAILABLE_DEFAULT_ON", "trailingStopsPreference": "NOT_AVAILABLE" },
  "snapshot": {
    "marketStatus": "TRADEABLE", "netChange": 1.7, "percentageChange": 40.62,
    "updateTime": "2025-08-22T14:41:02.284", "delayTime": 0, "bid": 5.02, "offer": 5.05,
    "high": 5.06, "low": 3.43, "decimalPlacesFactor": 2, "scalingFactor": 1, "marketModes": ["REGULAR"] } }"""


def test_market_details_current_field_names():
    details = parse(MarketDetails, MARKET_DETAILS_CURRENT)
    rules = details.dealing_rules
    assert rules.min_size_increment.value == Decimal("0.1")
    assert rules.min_stop_or_profit_distance.unit == "PERCENTAGE"
    assert rules.max_stop_or_profit_distance.value == 100
    assert rules.min_guaranteed_stop_distance.value == 75
    assert details.instrument.guaranteed_stop_allowed is True
    assert details.instrument.opening_hours.mon == ["13:30 - 20:00"]
    assert details.instrument.overnight_fee.swap_charge_timestamp == datetime(2025, 8, 22, 21, 0, tzinfo=UTC)
    assert details.snapshot.offer == Decimal("5.05")


def test_market_details_2022_field_names_are_read_too():
    details = parse(
        MarketDetails,
        """{"instrument": {"epic": "SILVER", "controlledRiskAllowed": false},
        "dealingRules": {"minNormalStopOrLimitDistance": {"unit": "PERCENTAGE", "value": 0.05},
          "maxStopOrLimitDistance": {"unit": "PERCENTAGE", "value": 75},
          "minControlledRiskStopDistance": {"unit": "PERCENTAGE", "value": 2.5}},
        "snapshot": {"marketStatus": "CLOSED", "bid": null, "offer": null}}""",
    )
    assert details.instrument.guaranteed_stop_allowed is False
    assert details.dealing_rules.min_stop_or_profit_distance.value == Decimal("0.05")
    assert details.dealing_rules.max_stop_or_profit_distance.value == 75
    assert details.dealing_rules.min_guaranteed_stop_distance.value == Decimal("2.5")
    assert details.snapshot.bid is None


def test_market_summary_of_a_closed_market_lacks_daily_stats():
    markets = parse(
        MarketsResponse,
        """{"markets": [{"instrumentName": "Silver", "expiry": "-", "epic": "SILVER",
        "instrumentType": "COMMODITIES", "marketStatus": "CLOSED", "lotSize": 1, "bid": 24.366,
        "offer": 24.386, "updateTime": "2022-04-06T15:17:38.477",
        "updateTimeUTC": "2022-04-06T13:17:38.477", "delayTime": 0, "streamingPricesAvailable": true,
        "scalingFactor": 1}]}""",
    ).markets
    assert markets[0].high is None
    assert markets[0].update_time_utc == datetime(2022, 4, 6, 13, 17, 38, 477000, tzinfo=UTC)
    # The plain field is account-local time and stays naive on purpose.
    assert markets[0].update_time.tzinfo is None


def test_navigation_branch_and_leaf():
    branch = parse(
        MarketNavigation, """{"nodes": [{"id": "hierarchy_v1.commons_group", "name": "commons_group"}]}"""
    )
    assert branch.nodes[0].id == "hierarchy_v1.commons_group"
    assert branch.markets == []
    leaf = parse(MarketNavigation, """{"nodes": [], "markets": [{"epic": "GOLD"}]}""")
    assert leaf.markets[0].epic == "GOLD"


def test_prices_response():
    prices = parse(
        PricesResponse,
        """{"prices": [{"snapshotTime": "2022-04-06T15:18:00", "snapshotTimeUTC": "2022-04-06T13:18:00",
        "openPrice": {"bid": 24.356, "ask": 24.376, "lastTraded": null},
        "closePrice": {"bid": 24.378, "ask": 24.398}, "highPrice": {"bid": 24.378, "ask": 24.398},
        "lowPrice": {"bid": 24.355, "ask": 24.375}, "lastTradedVolume": 187}],
        "instrumentType": "COMMODITIES"}""",
    )
    bar = prices.prices[0]
    assert bar.snapshot_time_utc == datetime(2022, 4, 6, 13, 18, tzinfo=UTC)
    assert bar.open_price.ask == Decimal("24.376")
    assert bar.last_traded_volume == 187


def test_positions_with_brackets_and_string_numbers():
    positions = parse(
        PositionsResponse,
        """{"positions": [{"position": {"contractSize": 1, "createdDate": "2022-04-05T12:46:01.872",
        "createdDateUTC": "2022-04-05T09:46:01.872", "dealId": "00018387-0001-54c4-0000-000080560014",
        "dealReference": "p_00018387-0001-54c4-0000-000080560014",
        "workingOrderId": "00018387-0001-54c4-0000-000080560012", "size": "10.0", "leverage": 20,
        "upl": -0.0500, "direction": "BUY", "level": 2.764, "currency": "USD", "guaranteedStop": "false",
        "stopLevel": 2.5, "profitLevel": null}, "market": {"epic": "NATURALGAS", "bid": 2.759}}]}""",
    ).positions
    position = positions[0].position
    assert position.size == Decimal("10.0")
    assert position.upl == Decimal("-0.0500")
    assert position.guaranteed_stop is False
    assert position.stop_level == Decimal("2.5")
    assert position.profit_level is None
    assert position.created_date_utc.tzinfo is UTC
    assert positions[0].market.epic == "NATURALGAS"


def test_working_orders():
    orders = parse(
        WorkingOrdersResponse,
        """{"workingOrders": [{"workingOrderData": {"dealId": "006011e7-0001-54c4-0000-000080560078",
        "direction": "BUY", "epic": "SILVER", "orderSize": 1, "leverage": 20, "orderLevel": 20,
        "timeInForce": "GOOD_TILL_DATE", "goodTillDate": "2022-06-09T04:01:00.000",
        "goodTillDateUTC": "2022-06-09T01:01:00.000", "createdDate": "2022-04-06T12:48:28.114",
        "createdDateUTC": "2022-04-06T09:48:28.114", "guaranteedStop": true, "trailingStop": false,
        "orderType": "LIMIT", "stopDistance": -3, "profitDistance": 3, "currencyCode": "USD"},
        "marketData": {"epic": "SILVER"}}]}""",
    ).working_orders
    order = orders[0].working_order_data
    assert order.order_level == 20
    assert order.stop_distance == -3
    assert order.good_till_date_utc == datetime(2022, 6, 9, 1, 1, tzinfo=UTC)


def test_confirm_accepted_and_rejected():
    accepted = parse(
        DealConfirmation,
        """{"date": "2022-04-06T07:32:19.193", "status": "OPEN", "reason": "SUCCESS",
        "dealStatus": "ACCEPTED", "epic": "SILVER", "dealReference": "o_fcc7e6c0-c150-48aa-bf66-d6c6da071f1a",
        "dealId": "006011e7-0001-54c4-0000-000080560043",
        "affectedDeals": [{"dealId": "006011e7-0001-54c4-0000-000080560045", "status": "OPENED"}],
        "level": 24.285, "size": 1, "direction": "BUY", "guaranteedStop": false, "trailingStop": false}""",
    )
    assert accepted.accepted and not accepted.rejected
    assert accepted.affected_deals[0].status == "OPENED"
    rejected = parse(
        DealConfirmation,
        """{"date": "2022-04-06T07:32:19.193", "status": null, "dealStatus": "REJECTED",
        "rejectReason": "MARKET_CLOSED", "reason": "MARKET_CLOSED", "epic": "SILVER",
        "dealReference": "o_x", "dealId": "d", "affectedDeals": [], "level": 0, "size": 1}""",
    )
    assert rejected.rejected
    assert rejected.rejection_reason == "MARKET_CLOSED"
    legacy = parse(DealConfirmation, """{"dealStatus": "REJECTED", "reason": "INSUFFICIENT_FUNDS"}""")
    assert legacy.rejection_reason == "INSUFFICIENT_FUNDS"


def test_activity_and_transactions_casing_quirks():
    activity = parse(
        ActivitiesResponse,
        """{"activities": [{"date": "2022-01-03T18:01:48.420", "dateUTC": "2022-01-03T15:01:48.420",
        "epic": "OIL_CRUDE", "dealId": "00018509-0001-54c4-0000-0000803c0ec6", "source": "CLOSE_OUT",
        "type": "POSITION", "status": "ACCEPTED",
        "details": {"dealReference": "p_00018509", "marketName": "Crude Oil", "currency": "USD", "size": 1,
          "direction": "SELL", "level": 75.2, "guaranteedStop": false}}]}""",
    ).activities[0]
    assert activity.date_utc == datetime(2022, 1, 3, 15, 1, 48, 420000, tzinfo=UTC)
    assert activity.details.level == Decimal("75.2")
    transactions = parse(
        TransactionsResponse,
        """{"transactions": [{"date": "2022-04-04T19:51:05.648", "dateUtc": "2022-04-04T16:51:05.648",
        "instrumentName": "NATURALGAS", "transactionType": "TRADE", "note": "Trade closed",
        "reference": "12345678", "size": "1.05", "currency": "USD"},
        {"date": "2022-04-04T19:54:27.568", "dateUtc": "2022-04-04T16:54:27.568",
        "transactionType": "DEPOSIT", "note": "Deposit", "reference": "12345678", "size": "20.0",
        "currency": "USD"}]}""",
    ).transactions
    assert transactions[0].size == Decimal("1.05")
    assert transactions[1].instrument_name is None
    assert transactions[1].date_utc.hour == 16


def test_stream_frames():
    quote = QuotePayload.model_validate(
        decode_json(
            """{"epic": "OIL_CRUDE", "product": "CFD", "bid": 93.87, "bidQty": 4976.0, "ofr": 93.9,
            "ofrQty": 5000.0, "timestamp": 1660297190627}"""
        )
    )
    assert quote.ofr == Decimal("93.9")
    assert quote.timestamp == datetime(2022, 8, 12, 9, 39, 50, 627000, tzinfo=UTC)
    one_sided = QuotePayload.model_validate({"epic": "X", "bid": None, "ofr": 1})
    assert one_sided.bid is None and one_sided.timestamp is None
    bar = OhlcPayload.model_validate(
        decode_json(
            """{"resolution": "MINUTE_5", "epic": "AAPL", "type": "classic", "priceType": "bid",
            "t": 1671714000000, "h": 134.95, "l": 134.85, "o": 134.86, "c": 134.88}"""
        )
    )
    assert bar.l == Decimal("134.85")
    ack = StreamFrame.model_validate(
        {"status": "OK", "destination": "marketData.subscribe", "correlationId": 1, "payload": {}}
    )
    assert ack.correlation_id == "1"
    nested = StreamFrame.model_validate(
        {"status": "ERROR", "correlationId": "2", "payload": {"errorCode": "error.invalid.session.token"}}
    )
    top_level = StreamFrame.model_validate({"status": "ERROR", "errorCode": "error.invalid.epic"})
    assert nested.venue_error_code == "error.invalid.session.token"
    assert top_level.venue_error_code == "error.invalid.epic"
