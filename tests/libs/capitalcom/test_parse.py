import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tt_capitalcom import Bar, PriceSide, Resolution, bars_from_prices
from tt_capitalcom.parse import bar_from_ohlc, encode_json, format_venue_time, tick_from_quote
from tt_capitalcom.schemas import OhlcPayload, PricesResponse, QuotePayload

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_encode_json_writes_decimals_as_exact_numbers():
    body = {"size": Decimal("0.1"), "level": Decimal("1E+2"), "flags": [True, None], "nested": {"x": 1}}
    encoded = encode_json(body)
    assert encoded == '{"size":0.1,"level":100,"flags":[true,null],"nested":{"x":1}}'
    assert json.loads(encoded, parse_float=Decimal)["size"] == Decimal("0.1")
    with pytest.raises(ValueError):
        encode_json({"size": Decimal("NaN")})


def test_venue_time_is_utc_without_zone_or_fraction():
    cyprus = timezone(timedelta(hours=3))
    assert format_venue_time(datetime(2022, 4, 6, 16, 18, 0, 999999, tzinfo=cyprus)) == "2022-04-06T13:18:00"
    with pytest.raises(ValueError):
        format_venue_time(datetime(2022, 4, 6))


def test_tick_from_quote_maps_ofr_to_ask_and_falls_back_to_receive_time():
    tick = tick_from_quote(
        QuotePayload(epic="EURUSD", bid=Decimal("1.1"), ofr=Decimal("1.2")), received_at=NOW
    )
    assert (tick.bid, tick.ask, tick.time) == (Decimal("1.1"), Decimal("1.2"), NOW)


def test_bar_from_ohlc_event():
    event = OhlcPayload.model_validate(
        {
            "resolution": "MINUTE_5",
            "epic": "AAPL",
            "priceType": "ask",
            "t": 1671714000000,
            "h": Decimal("2"),
            "l": Decimal("0.5"),
            "o": Decimal("1"),
            "c": Decimal("1.5"),
        }
    )
    bar = bar_from_ohlc(event)
    assert bar == Bar(
        epic="AAPL",
        resolution=Resolution.MINUTE_5,
        side=PriceSide.ASK,
        open_time=datetime(2022, 12, 22, 13, 0, tzinfo=UTC),
        open=Decimal("1"),
        high=Decimal("2"),
        low=Decimal("0.5"),
        close=Decimal("1.5"),
    )
    assert bar.close_time == datetime(2022, 12, 22, 13, 5, tzinfo=UTC)


def _prices(*bars):
    return PricesResponse.model_validate({"prices": list(bars)})


def _raw_bar(minute, bid, ask):
    side = {"bid": bid, "ask": ask}
    return {
        "snapshotTimeUTC": f"2024-01-02T03:{minute:02d}:00",
        "openPrice": side,
        "highPrice": side,
        "lowPrice": side,
        "closePrice": side,
        "lastTradedVolume": 7,
    }


def test_bars_from_prices_per_side_and_mid():
    response = _prices(_raw_bar(0, Decimal("1.0"), Decimal("1.2")), _raw_bar(1, None, Decimal("1.3")))
    bid = bars_from_prices("X", Resolution.MINUTE, response, PriceSide.BID)
    ask = bars_from_prices("X", Resolution.MINUTE, response, PriceSide.ASK)
    mid = bars_from_prices("X", Resolution.MINUTE, response, PriceSide.MID)
    # The second bar has no bid: it is left out of bid and mid bars rather than invented.
    assert [b.close for b in bid] == [Decimal("1.0")]
    assert [b.close for b in ask] == [Decimal("1.2"), Decimal("1.3")]
    assert [b.close for b in mid] == [Decimal("1.1")]
    assert bid[0].tick_count == 7
    assert bid[0].open_time == datetime(2024, 1, 2, 3, 0, tzinfo=UTC)
