"""Pure rules: pre-trade checks, deal matching, intent transitions, the crypto envelope."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from tt_broker.crypto import CredentialContext, CredentialDecryptError, KeyRing
from tt_broker.domain import (
    DealingRules,
    IntentState,
    OrderFacts,
    PendingIntent,
    RiskLimits,
    VenueDeal,
    can_move,
    check_pre_trade,
    match_deals,
)

LIMITS = RiskLimits(D("100"), 2, D("50"))
RULES = DealingRules(min_size=D("1"), size_step=D("1"), min_stop_distance=D("5"), margin_factor=D("0.1"))


@pytest.mark.parametrize(
    ("facts", "kw", "code"),
    [
        (OrderFacts("BUY", D("10"), D("10")), {}, None),
        (OrderFacts("BUY", D("0.5"), D("10")), {}, "size_below_minimum"),
        (OrderFacts("BUY", D("1.5"), D("10")), {}, "size_step"),
        (OrderFacts("BUY", D("10"), D("10"), stop_distance=D("1")), {}, "stop_too_close"),
        (OrderFacts("BUY", D("101"), D("1")), {}, "risk_max_position_size"),
        (OrderFacts("BUY", D("10"), D("10")), {"open_positions": 2}, "risk_max_open_positions"),
        (OrderFacts("BUY", D("10"), D("10")), {"realised_today": D("-50")}, "risk_daily_loss_limit"),
        (OrderFacts("BUY", D("100"), D("100")), {"available": D("10")}, "insufficient_margin"),
        (OrderFacts("BUY", D("10"), D("10")), {"circuit_open": True}, "circuit_open"),
    ],
)
def test_pre_trade(facts, kw, code):
    args = {"available": D("1000"), "open_positions": 0, "realised_today": D("0")} | kw
    violation = check_pre_trade(facts, RULES, LIMITS, **args)
    assert (violation.reason_code if violation else None) == code


def test_matching_links_each_deal_once_and_never_before_sent_at():
    t = datetime(2024, 3, 4, 12, tzinfo=UTC)
    pending = [
        PendingIntent("a", "X", "BUY", D("1"), t),
        PendingIntent("b", "X", "BUY", D("1"), t + timedelta(seconds=1)),
    ]
    deals = [
        VenueDeal("old", "X", "BUY", D("1"), t - timedelta(minutes=5)),
        VenueDeal("d1", "X", "BUY", D("1"), t),
    ]
    got = match_deals(pending, deals, set(), tolerance=timedelta(seconds=5))
    assert {k: v.deal_id for k, v in got.items()} == {"a": "d1"}
    assert match_deals(pending, deals, {"d1"}, tolerance=timedelta(seconds=5)) == {}


def test_unknown_never_goes_back_to_sending():
    assert not can_move(IntentState.UNKNOWN, IntentState.SENDING)
    assert can_move(IntentState.UNKNOWN, IntentState.RECONCILED_FILLED)


def test_envelope_binds_the_row():
    ring = KeyRing({"k": b"k" * 32}, "k")
    ctx = CredentialContext(uuid.uuid4(), uuid.uuid4(), "capitalcom")
    sealed = ring.seal(b"secret", ctx)
    assert ring.open(sealed, ctx) == b"secret" and "secret" not in repr(sealed)
    with pytest.raises(CredentialDecryptError):
        ring.open(sealed, CredentialContext(uuid.uuid4(), ctx.credential_id, "capitalcom"))
