"""Pure rules: pre-trade checks, deal matching, intent transitions, the crypto envelope."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from tt_broker.crypto import CredentialContext, CredentialDecryptError, KeyRing
from tt_broker.domain import (
    DealingRules,
    IntentState,
    LegStatus,
    OcoLegState,
    OrderFacts,
    PendingIntent,
    RiskLimits,
    VenueDeal,
    can_move,
    check_pre_trade,
    circuit_after_failure,
    circuit_state,
    emulated_exit,
    match_deals,
    protection_status,
    resolve_oco,
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
        (OrderFacts("BUY", D("10"), D("10")), {"realised_today": D("0")}, None),
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


T0 = datetime(2024, 3, 4, 12, tzinfo=UTC)


def leg(n, status, filled_at=None, position=None):
    return OcoLegState(f"leg{n}", n, status, filled_at, position)


@pytest.mark.parametrize(
    ("legs", "cancel", "close", "kept"),
    [
        ([leg(1, LegStatus.WORKING), leg(2, LegStatus.WORKING)], (), (), None),
        ([leg(1, LegStatus.PENDING), leg(2, LegStatus.WORKING)], (), (), None),
        ([leg(1, LegStatus.FILLED, T0, "p1"), leg(2, LegStatus.WORKING)], ("leg2",), (), None),
        ([leg(1, LegStatus.ENDED), leg(2, LegStatus.WORKING)], ("leg2",), (), None),
        ([leg(1, LegStatus.FILLED, T0, "p1"), leg(2, LegStatus.PENDING)], (), (), None),
        # both filled: the later fill is closed, whichever leg it was
        (
            [leg(1, LegStatus.FILLED, T0 + timedelta(seconds=1), "p1"), leg(2, LegStatus.FILLED, T0, "p2")],
            (),
            ("p1",),
            "leg2",
        ),
        # both filled at the same venue time: the second leg goes
        ([leg(1, LegStatus.FILLED, T0, "p1"), leg(2, LegStatus.FILLED, T0, "p2")], (), ("p2",), "leg1"),
        # the unwanted position already closed: nothing left to do
        ([leg(1, LegStatus.FILLED, T0, "p1"), leg(2, LegStatus.FILLED, T0, None)], (), (), "leg1"),
    ],
)
def test_oco_resolution(legs, cancel, close, kept):
    decision = resolve_oco(legs)
    assert (decision.cancel, decision.close, decision.kept) == (cancel, close, kept)


@pytest.mark.parametrize(
    ("side", "protection", "bid", "ask", "trigger", "trailed"),
    [
        ("BUY", {"stop_level": "95"}, D("95"), D("95.5"), "stop", None),
        ("BUY", {"stop_level": "95"}, D("96"), D("96.5"), None, None),
        ("BUY", {"stop_distance": "5"}, D("95"), D("95.5"), "stop", None),  # from the open price 100
        ("BUY", {"profit_distance": "10"}, D("110"), D("110.5"), "target", None),
        ("SELL", {"stop_level": "105"}, D("104.5"), D("105"), "stop", None),  # a short closes at the ask
        ("SELL", {"profit_level": "90"}, D("89"), D("90"), "target", None),
        ("BUY", {"stop_distance": "4", "trailing_stop": True}, D("110"), D("110.5"), None, D("106")),
        (
            "BUY",
            {"stop_level": "107", "stop_distance": "4", "trailing_stop": True},
            D("110"),
            D("111"),
            None,
            None,
        ),
        ("SELL", {"stop_distance": "4", "trailing_stop": True}, D("89.5"), D("90"), None, D("94")),
    ],
)
def test_emulated_exit(side, protection, bid, ask, trigger, trailed):
    result = emulated_exit(side, D("100"), protection, bid, ask)
    assert (result.trigger, result.trailed_stop) == (trigger, trailed)


def test_protection_status_needs_a_stop():
    assert protection_status({"stop_distance": "5"}, emulated=False) == "native"
    assert protection_status({"guaranteed_stop": True}, emulated=False) == "native"
    assert protection_status({"stop_level": "5"}, emulated=True) == "emulated"
    assert protection_status({"profit_level": "5"}, emulated=False) == "missing"
    assert protection_status(None, emulated=True) == "missing"


def test_circuit_opens_half_opens_and_closes():
    open_for = timedelta(seconds=60)
    failures, until = circuit_after_failure(0, None, T0, threshold=2, open_for=open_for)
    assert (failures, until, circuit_state(until, T0)) == (1, None, "closed")
    failures, until = circuit_after_failure(failures, until, T0, threshold=2, open_for=open_for)
    assert until == T0 + open_for and circuit_state(until, T0) == "open"
    later = T0 + open_for
    assert circuit_state(until, later) == "half_open"
    _, reopened = circuit_after_failure(0, until, later, threshold=5, open_for=open_for)
    assert reopened == later + open_for  # the trial failed: open again at once
