"""The ticket's checks on their own: dealing rules, exits, trailing/guaranteed stops, OCO legs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tt_contracts.broker import OrderType
from tt_contracts.common import InstrumentRef
from tt_contracts.market_data import DealingRulesView
from tt_gateway.web.orders.ticket import check_ticket, ticket_from, valid_key

EURUSD = InstrumentRef(symbol="EURUSD")
RULES = DealingRulesView(
    min_deal_size=Decimal(100),
    max_deal_size=Decimal(5_000_000),
    min_size_increment=Decimal(1),
    min_stop_distance=Decimal("0.0005"),
)


def check(price: Decimal | None = None, **form: str):
    ticket = ticket_from({"symbol": "EURUSD", "side": "BUY", "order_type": "MARKET", "size": "1000", **form})
    return check_ticket(ticket, EURUSD, RULES, price), ticket.errors


def test_a_valid_market_order_keeps_exact_decimals():
    order, errors = check(size="1500", stop_distance="0.00250", profit_level="1.2")
    assert errors == {} and order is not None
    assert order.size == Decimal("1500") and order.protection.stop_distance == Decimal("0.00250")
    assert order.order_type is OrderType.MARKET and order.level is None and order.oco is None


@pytest.mark.parametrize(
    ("form", "field", "text"),
    [
        ({"size": "99"}, "size", "minimum size for this instrument is 100"),
        ({"size": "100.5"}, "size", "multiple of 1"),
        ({"size": "NaN"}, "size", "as a number"),
        ({"size": "-3"}, "size", "greater than zero"),
        ({"stop_distance": "0.0001"}, "stop_distance", "at least 0.0005 away"),
        ({"stop_level": "1.1", "stop_distance": "0.001"}, "stop_distance", "not both"),
        ({"trailing_stop": "1", "stop_level": "1.0"}, "trailing_stop", "as a distance"),
        ({"guaranteed_stop": "1"}, "guaranteed_stop", "needs a stop-loss"),
        ({"order_type": "LIMIT"}, "level", "Enter the level"),
        ({"level": "1.1"}, "level", "leave the level empty"),
        ({"order_type": "LIMIT", "level": "1.10", "stop_level": "1.2"}, "stop_level", "below the entry"),
        ({"oco": "1", "oco_level": "1.2"}, "oco", "make the first order a limit or stop order"),
        (
            {"order_type": "STOP", "level": "1.2", "oco": "1", "oco_order_type": "MARKET"},
            "oco_order_type",
            "limit or stop",
        ),
        ({"symbol": "EUR/USD"}, "symbol", "letters, digits"),
    ],
)
def test_field_errors(form, field, text):
    order, errors = check(**form)
    assert order is None and text in errors[field], errors


def test_market_exits_are_checked_against_the_fill_price():
    _, errors = check(price=Decimal("1.08500"), side="SELL", stop_level="1.08520")
    assert "at least 0.0005 away" in errors["stop_level"]
    order, errors = check(price=Decimal("1.08500"), side="SELL", stop_level="1.09")
    assert errors == {} and order.protection.stop_level == Decimal("1.09")


def test_an_oco_pair_of_working_orders():
    order, errors = check(
        order_type="STOP",
        level="1.0900",
        side="BUY",
        oco="1",
        oco_side="SELL",
        oco_order_type="STOP",
        oco_level="1.0800",
        oco_stop_distance="0.0020",
    )
    assert errors == {} and order.oco is not None
    assert order.oco.order_type is OrderType.STOP and order.oco.level == Decimal("1.0800")
    assert order.oco.protection.stop_distance == Decimal("0.0020")


def test_unknown_instrument_and_keys():
    ticket = ticket_from({"symbol": "NOPE", "side": "BUY", "size": "1000"})
    assert check_ticket(ticket, None, None, None) is None and "do not know" in ticket.errors["symbol"]
    assert valid_key("web-0123456789abcdef") and not valid_key("short") and not valid_key("has space 123")
    assert valid_key("k" * 120) and not valid_key("k" * 121), "room left for the OCO leg's suffix"
