"""Wire rules of the message bases."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from tt_contracts.billing import CreateHold
from tt_contracts.broker import PlaceOrder
from tt_contracts.common import InstrumentRef, Side
from tt_contracts.identity import UserRegistered


def _order(**overrides):
    fields = dict(
        user_id=uuid4(),
        idempotency_key="intent-0001",
        instrument=InstrumentRef(symbol="EURUSD"),
        side=Side.BUY,
        size=Decimal("0.10"),
    )
    fields.update(overrides)
    return PlaceOrder(**fields)


def test_decimals_travel_as_exact_strings():
    order = _order(size=Decimal("0.1000000000000000055511151231257827"))
    payload = order.model_dump_json()
    assert '"size":"0.1000000000000000055511151231257827"' in payload
    assert PlaceOrder.model_validate_json(payload).size == order.size


def test_timestamps_are_utc_and_naive_ones_refused():
    eastern = timezone(timedelta(hours=-5))
    event = UserRegistered(
        user_id=uuid4(), email="a@example.com", occurred_at=datetime(2026, 1, 1, 7, tzinfo=eastern)
    )
    assert event.occurred_at == datetime(2026, 1, 1, 12, tzinfo=UTC) and event.occurred_at.tzinfo == UTC
    with pytest.raises(ValidationError):
        UserRegistered(user_id=uuid4(), email="a@example.com", occurred_at=datetime(2026, 1, 1))


def test_messages_are_frozen_and_tolerant_of_unknown_fields():
    event = UserRegistered.model_validate(
        {"user_id": str(uuid4()), "email": "a@example.com", "added_later": 1}
    )
    with pytest.raises(ValidationError):
        event.email = "b@example.com"  # type: ignore[misc]


def test_commands_expire():
    now = datetime.now(UTC)
    assert _order(expires_at=now - timedelta(seconds=1)).expired()
    assert not _order(expires_at=now + timedelta(seconds=30)).expired()
    assert not _order().expired()


def test_invalid_commands_are_refused():
    with pytest.raises(ValidationError):
        _order(size=Decimal("0"))
    with pytest.raises(ValidationError):
        _order(idempotency_key="short")
    with pytest.raises(ValidationError):
        CreateHold(
            user_id=uuid4(),
            hold_id=uuid4(),
            idempotency_key="hold-000001",
            amount=Decimal("-1"),
            purpose="analysis",
        )


def test_causality_is_carried_forward():
    first = UserRegistered(user_id=uuid4(), email="a@example.com")
    nxt = CreateHold(
        **first.caused(
            user_id=first.user_id,
            hold_id=uuid4(),
            idempotency_key="welcome-0001",
            amount=Decimal(1),
            purpose="welcome",
        )
    )
    assert nxt.correlation_id == first.message_id and nxt.causation_id == first.message_id


def test_secrets_stay_out_of_reprs_but_reach_their_owner():
    """A credential request must carry the real secret to the service that owns it, while reprs, str
    and python dumps (what logs and tracebacks show) stay masked."""
    import json

    from tt_contracts.broker import ConnectAccount
    from tt_contracts.identity import RegisterUser

    request = ConnectAccount(
        user_id=uuid4(), identifier="me@example.com", api_key="k-123456", api_key_password="p-654321"
    )
    assert "k-123456" not in repr(request) and "p-654321" not in str(request)
    assert "p-654321" not in repr(request.model_dump())
    wire = json.loads(request.model_dump_json())
    assert wire["api_key"] == "k-123456" and wire["api_key_password"] == "p-654321"
    assert (
        ConnectAccount.model_validate_json(request.model_dump_json()).api_key.get_secret_value() == "k-123456"
    )
    signup = RegisterUser(email="a@example.com", password="correct horse battery")
    assert "correct horse" not in repr(signup)
    assert json.loads(signup.model_dump_json())["password"] == "correct horse battery"


def test_timeframes_know_their_length():
    from datetime import timedelta

    from tt_contracts.common import Timeframe

    assert [tf.seconds for tf in Timeframe] == sorted(tf.seconds for tf in Timeframe)
    assert Timeframe.M15.step == timedelta(minutes=15) and Timeframe.W1.step == 7 * Timeframe.D1.step
