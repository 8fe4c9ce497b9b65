"""REST client behaviour against an in-process venue (httpx.MockTransport): no network, fake time."""

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from tt_capitalcom import (
    AmbiguousOutcomeError,
    AuthenticationError,
    DealRejectedError,
    Direction,
    PermanentError,
    Protection,
    RateLimit,
    RateLimitedError,
    Resolution,
    TransientError,
    WorkingOrderType,
)

ORDER_REF = {"dealReference": "o_98c0de50-9cd5-4481-8d81-890c525eeb49"}


def body_of(request: httpx.Request):
    return json.loads(request.content, parse_float=Decimal)


async def test_encrypted_login_sends_rsa_password_and_then_uses_the_tokens(venue, make_client):
    venue.route(
        "GET", "accounts", lambda r: venue.json(200, {"accounts": [{"accountId": "1", "status": "ENABLED"}]})
    )
    client = make_client()
    accounts = await client.get_accounts()
    assert accounts[0].account_id == "1"
    assert venue.decrypted_passwords == [venue.password]
    login = venue.requests_to("POST", "session")[0]
    assert body_of(login)["encryptedPassword"] is True
    assert venue.password not in login.content.decode()
    call = venue.requests_to("GET", "accounts")[0]
    assert (call.headers["CST"], call.headers["X-SECURITY-TOKEN"]) == ("cst-1", "sec-1")
    assert "X-CAP-API-KEY" not in call.headers
    assert client.session.current_account_id == "12345678901234567"
    assert client.streaming_url == "wss://stream.venue.test/connect"


async def test_plain_login_skips_the_encryption_key(venue, make_client):
    client = make_client(encrypted_password=False)
    await client.login()
    assert venue.requests_to("GET", "session/encryptionKey") == []
    body = body_of(venue.requests_to("POST", "session")[0])
    assert body == {
        "identifier": "trader@example.com",
        "password": venue.password,
        "encryptedPassword": False,
    }


async def test_bad_credentials_are_fatal_not_retried_and_never_echo_secrets(venue, make_client):
    client = make_client(password="wrong-password-xyz")
    with pytest.raises(AuthenticationError) as caught:
        await client.get_accounts()
    assert caught.value.error_code == "error.invalid.details"
    assert len(venue.requests_to("POST", "session")) == 1
    text = f"{caught.value} {caught.value!r}"
    for secret in ("wrong-password-xyz", venue.api_key):
        assert secret not in text


async def test_login_rate_limit_is_retried_and_logins_are_paced_a_second_apart(venue, clock, make_client):
    answers = iter([venue.error(429, "error.too-many.requests")])
    stamps = []

    def login(request):
        stamps.append(clock.now)
        return next(answers, None) or venue._login(request)

    venue.route("POST", "session", login)
    client = make_client(encrypted_password=False)
    await client.login()
    assert len(stamps) == 2
    assert stamps[1] - stamps[0] >= 1.0


async def test_expired_session_logs_in_again_and_resends(venue, make_client):
    venue.route("GET", "positions", lambda r: venue.json(200, {"positions": []}))
    client = make_client()
    renewals = []
    client.add_session_listener(lambda: renewals.append(True))
    await client.get_positions()
    venue.invalidate_sessions()
    assert await client.get_positions() == []
    assert venue.logins == 2
    assert len(renewals) == 2
    assert venue.requests_to("GET", "positions")[-1].headers["CST"] == "cst-2"


async def test_a_session_refused_right_after_relogin_is_fatal(venue, make_client):
    venue.route("GET", "accounts", lambda r: venue.error(401, "error.invalid.session.token"))
    client = make_client()
    with pytest.raises(AuthenticationError):
        await client.get_accounts()
    assert venue.logins == 2
    assert len(venue.requests_to("GET", "accounts")) == 2


async def test_concurrent_callers_share_one_relogin(venue, make_client):
    venue.route("GET", "ping", lambda r: venue.json(200, {"status": "OK"}))
    client = make_client()
    await client.ping()
    venue.invalidate_sessions()
    await asyncio.gather(*(client.ping() for _ in range(5)))
    assert venue.logins == 2


async def test_rotated_tokens_are_adopted(venue, make_client):
    def rotate(request):
        venue.valid_tokens.add(("cst-rotated", "sec-rotated"))
        return venue.json(
            200, {"status": "OK"}, headers={"CST": "cst-rotated", "X-SECURITY-TOKEN": "sec-rotated"}
        )

    venue.route(
        "PUT", "session", lambda r: rotate(r) if body_of(r) == {"accountId": "2"} else venue.error(400, "x")
    )
    client = make_client()
    await client.switch_account("2")
    await client.ping()
    assert venue.requests_to("GET", "ping")[0].headers["X-SECURITY-TOKEN"] == "sec-rotated"


async def test_idle_session_is_renewed_before_use_without_a_failed_call(venue, clock, make_client):
    client = make_client()
    await client.ping()
    clock.advance(601)
    venue.invalidate_sessions()  # what the venue does after 10 idle minutes
    await client.ping()
    assert venue.logins == 2
    assert len(venue.requests_to("GET", "ping")) == 2


async def test_maintain_session_pings_when_idle_and_logs_in_again_near_the_hard_cap(
    venue, clock, make_client
):
    client = make_client(keepalive_after=300, session_max_age=2700)
    await client.maintain_session()
    assert venue.requests == []  # nothing to keep alive before the first login
    await client.login()
    clock.advance(100)
    await client.maintain_session()
    assert venue.requests_to("GET", "ping") == []
    clock.advance(250)
    await client.maintain_session()
    assert len(venue.requests_to("GET", "ping")) == 1
    clock.advance(2400)
    await client.maintain_session()
    assert venue.logins == 2


async def test_reads_are_retried_on_transient_errors(venue, make_client):
    answers = iter(
        [venue.error(503, "error.service.unavailable"), venue.json(200, {"serverTime": 1649259764171})]
    )
    venue.route("GET", "time", lambda r: next(answers))
    client = make_client()
    assert await client.server_time() == datetime(2022, 4, 6, 15, 42, 44, 171000, tzinfo=UTC)
    assert len(venue.requests_to("GET", "time")) == 2


async def test_reads_give_up_after_max_retries(venue, make_client):
    def fail(request):
        raise httpx.ReadTimeout("slow", request=request)

    venue.route("GET", "accounts", fail)
    client = make_client(max_retries=2)
    with pytest.raises(TransientError):
        await client.get_accounts()
    assert len(venue.requests_to("GET", "accounts")) == 3


async def test_permanent_errors_are_not_retried(venue, make_client):
    venue.route("GET", "markets/NOPE", lambda r: venue.error(404, "error.not-found.epic"))
    client = make_client()
    with pytest.raises(PermanentError) as caught:
        await client.get_market("NOPE")
    assert caught.value.error_code == "error.not-found.epic"
    assert len(venue.requests_to("GET", "markets/NOPE")) == 1


async def test_trade_5xx_is_ambiguous_and_never_resent(venue, make_client):
    venue.route("POST", "positions", lambda r: venue.error(503, "error.service.unavailable"))
    client = make_client()
    with pytest.raises(AmbiguousOutcomeError):
        await client.create_position("SILVER", Direction.BUY, Decimal("1"))
    assert len(venue.requests_to("POST", "positions")) == 1


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError])
async def test_trade_without_a_response_is_ambiguous_and_never_resent(venue, make_client, failure):
    def executed_then_lost(request):
        raise failure("lost", request=request)

    venue.route("DELETE", "positions/D1", executed_then_lost)
    client = make_client()
    with pytest.raises(AmbiguousOutcomeError):
        await client.close_position("D1")
    assert len(venue.requests_to("DELETE", "positions/D1")) == 1


async def test_trade_that_never_connected_is_sent_again(venue, make_client):
    attempts = iter([httpx.ConnectError("refused"), None])

    def flaky(request):
        failure = next(attempts)
        if failure is not None:
            raise failure
        return venue.json(200, ORDER_REF)

    venue.route("POST", "positions", flaky)
    client = make_client()
    assert await client.create_position("SILVER", Direction.BUY, Decimal("1")) == ORDER_REF["dealReference"]


async def test_trade_rate_limit_is_surfaced_not_retried(venue, make_client):
    venue.route("POST", "workingorders", lambda r: venue.error(429, "error.too-many.requests"))
    client = make_client()
    with pytest.raises(RateLimitedError):
        await client.create_working_order(
            "SILVER", Direction.BUY, Decimal("1"), Decimal("20"), WorkingOrderType.LIMIT
        )
    assert len(venue.requests_to("POST", "workingorders")) == 1


async def test_trade_validation_error_carries_the_venue_bound(venue, make_client):
    venue.route("POST", "positions", lambda r: venue.error(400, "error.invalid.stoploss.minvalue: 17.146"))
    client = make_client()
    with pytest.raises(PermanentError) as caught:
        await client.create_position(
            "SILVER", Direction.BUY, Decimal("1"), protection=Protection(stop_level=Decimal("20"))
        )
    assert caught.value.bound_value == Decimal("17.146")


async def test_trade_refused_for_an_expired_session_is_sent_again_after_login(venue, make_client):
    venue.route("POST", "positions", lambda r: venue.json(200, ORDER_REF))
    client = make_client()
    await client.login()
    venue.invalidate_sessions()
    assert await client.create_position("SILVER", Direction.SELL, Decimal("2")) == ORDER_REF["dealReference"]
    assert venue.logins == 2
    assert len(venue.requests_to("POST", "positions")) == 2


async def test_trade_requests_are_paced_more_than_a_tenth_of_a_second_apart(venue, clock, make_client):
    stamps = []

    def record(request):
        stamps.append(clock.now)
        return venue.json(200, ORDER_REF)

    venue.route("POST", "positions", record)
    client = make_client(request_limit=RateLimit(rate=1000, burst=100))
    await client.login()
    for _ in range(3):
        await client.create_position("SILVER", Direction.BUY, Decimal("1"))
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(stamps)]
    # Default: 9 per second, a margin over the venue's 1 per 0.1 s for network jitter.
    assert gaps == [round(1 / 9, 6)] * 2


async def test_trade_bodies_keep_decimals_exact(venue, make_client):
    venue.route("POST", "positions", lambda r: venue.json(200, ORDER_REF))
    venue.route("PUT", "positions/D1", lambda r: venue.json(200, {"dealReference": "p_D1"}))
    venue.route("POST", "workingorders", lambda r: venue.json(200, ORDER_REF))
    client = make_client()
    protection = Protection(
        stop_distance=Decimal("0.0005"), profit_level=Decimal("1.23456"), trailing_stop=True
    )
    await client.create_position("EURUSD", Direction.BUY, Decimal("1000.5"), protection=protection)
    assert venue.requests_to("POST", "positions")[0].content.decode() == (
        '{"epic":"EURUSD","direction":"BUY","size":1000.5,"guaranteedStop":false,"trailingStop":true,'
        '"stopDistance":0.0005,"profitLevel":1.23456}'
    )
    # An amend is a full replacement: with no protection, every bracket is cleared.
    assert await client.update_position("D1", Protection()) == "p_D1"
    assert body_of(venue.requests_to("PUT", "positions/D1")[0]) == {
        "guaranteedStop": False,
        "trailingStop": False,
    }
    await client.create_working_order(
        "GOLD",
        Direction.SELL,
        Decimal("1"),
        Decimal("2500.25"),
        WorkingOrderType.STOP,
        good_till=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    order = body_of(venue.requests_to("POST", "workingorders")[0])
    assert order["goodTillDate"] == "2030-01-02T03:04:05"
    assert order["type"] == "STOP" and order["level"] == Decimal("2500.25")


def test_protection_rejects_contradictions():
    with pytest.raises(ValueError):
        Protection(stop_level=Decimal("1"), stop_distance=Decimal("1"))
    with pytest.raises(ValueError):
        Protection(guaranteed_stop=True)
    with pytest.raises(ValueError):
        Protection(trailing_stop=True, stop_level=Decimal("1"))


async def test_await_confirm_waits_out_early_not_found_answers(venue, make_client):
    confirm = {
        "dealStatus": "ACCEPTED",
        "dealReference": "o_1",
        "dealId": "ORDER",
        "affectedDeals": [{"dealId": "POS", "status": "OPENED"}],
        "level": 24.285,
    }
    answers = iter(
        [
            venue.error(404, "error.not-found.dealReference"),
            venue.error(400, "error.invalid.dealReference"),
            venue.json(200, confirm),
        ]
    )
    venue.route("GET", "confirms/o_1", lambda r: next(answers))
    client = make_client()
    result = await client.await_confirm("o_1")
    assert result.affected_deals[0].deal_id == "POS"
    assert result.level == Decimal("24.285")


async def test_await_confirm_raises_on_rejection_with_the_reason(venue, make_client):
    rejected = {"dealStatus": "REJECTED", "rejectReason": "INSUFFICIENT_FUNDS", "dealReference": "o_2"}
    venue.route("GET", "confirms/o_2", lambda r: venue.json(200, rejected))
    client = make_client()
    with pytest.raises(DealRejectedError) as caught:
        await client.await_confirm("o_2")
    assert caught.value.reason == "INSUFFICIENT_FUNDS"
    assert caught.value.confirmation.deal_reference == "o_2"


async def test_await_confirm_without_decision_is_ambiguous(venue, make_client):
    venue.route("GET", "confirms/o_3", lambda r: venue.error(404, "error.not-found.dealReference"))
    client = make_client(confirm_poll_interval=0.5)
    with pytest.raises(AmbiguousOutcomeError):
        await client.await_confirm("o_3", max_wait=2)
    assert len(venue.requests_to("GET", "confirms/o_3")) == 5


def _bars_between(start: datetime, end: datetime, max_bars: int):
    bars, moment = [], start.replace(second=0)
    if moment < start:
        moment += timedelta(minutes=1)
    while moment <= end and len(bars) < max_bars:
        side = {"bid": 1.5, "ask": 1.6}
        bars.append(
            {
                "snapshotTimeUTC": moment.strftime("%Y-%m-%dT%H:%M:%S"),
                "openPrice": side,
                "closePrice": side,
                "highPrice": side,
                "lowPrice": side,
            }
        )
        moment += timedelta(minutes=1)
    return bars


async def test_price_history_pages_through_the_venue_window_limit(venue, make_client):
    windows = []

    def prices(request):
        params = request.url.params
        start = datetime.fromisoformat(params["from"]).replace(tzinfo=UTC)
        end = datetime.fromisoformat(params["to"]).replace(tzinfo=UTC)
        max_bars = int(params["max"])
        assert (end - start) <= timedelta(minutes=max_bars - 1), "venue: error.invalid.max.daterange"
        windows.append((params["from"], params["to"]))
        if len(windows) == 2:
            return venue.error(404, "error.prices.not-found")  # e.g. a weekend
        return venue.json(200, {"prices": _bars_between(start, end, max_bars)})

    venue.route("GET", "prices/US500", prices)
    venue.route("GET", "time", lambda r: venue.json(200, {"serverTime": 1704225600000}))  # 2024-01-02T20:00Z
    client = make_client()
    start = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
    bars = await client.get_price_history("US500", Resolution.MINUTE, start)
    # Each window spans (max - 1) minutes, bounds inclusive; the next starts one second later.
    assert windows == [
        ("2024-01-01T00:00:00", "2024-01-01T16:39:00"),
        ("2024-01-01T16:39:01", "2024-01-02T09:18:01"),
        ("2024-01-02T09:18:02", "2024-01-02T20:00:00"),
    ]
    times = [bar.snapshot_time_utc for bar in bars]
    assert times == sorted(set(times))
    assert times[0] == start
    assert times[999] == datetime(2024, 1, 1, 16, 39, tzinfo=UTC)
    assert times[1000] == datetime(2024, 1, 2, 9, 19, tzinfo=UTC)  # the empty window is skipped
    assert times[-1] == datetime(2024, 1, 2, 20, 0, tzinfo=UTC)


async def test_get_prices_validates_and_formats_parameters(venue, make_client):
    venue.route("GET", "prices/OIL/X", lambda r: venue.json(200, {"prices": []}))
    client = make_client()
    with pytest.raises(ValueError):
        await client.get_prices("X", max_bars=1001)
    await client.get_prices("OIL/X", Resolution.HOUR_4, max_bars=10)
    request = venue.requests[-1]
    assert request.url.raw_path.decode().endswith("/prices/OIL%2FX?resolution=HOUR_4&max=10")


async def test_activity_over_several_days_is_split_into_one_day_windows(venue, make_client):
    windows = []

    def activity(request):
        windows.append((request.url.params["from"], request.url.params["to"]))
        return venue.json(200, {"activities": [{"dateUTC": request.url.params["from"], "epic": "GOLD"}]})

    venue.route("GET", "history/activity", activity)
    client = make_client()
    found = await client.get_activity(
        start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2024, 1, 3, 12, tzinfo=UTC), detailed=True
    )
    assert windows == [
        ("2024-01-01T00:00:00", "2024-01-02T00:00:00"),
        ("2024-01-02T00:00:01", "2024-01-03T00:00:01"),
        ("2024-01-03T00:00:02", "2024-01-03T12:00:00"),
    ]
    assert len(found) == 3
    assert all(r.url.params["detailed"] == "true" for r in venue.requests_to("GET", "history/activity"))


async def test_market_details_are_fetched_fifty_epics_at_a_time(venue, make_client):
    def markets(request):
        epics = request.url.params["epics"].split(",")
        return venue.json(200, {"marketDetails": [{"instrument": {"epic": e}} for e in epics]})

    venue.route("GET", "markets", markets)
    client = make_client()
    epics = [f"E{i}" for i in range(120)]
    details = await client.get_markets(epics)
    assert [d.instrument.epic for d in details] == epics
    assert [len(r.url.params["epics"].split(",")) for r in venue.requests_to("GET", "markets")] == [
        50,
        50,
        20,
    ]
