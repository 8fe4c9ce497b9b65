from decimal import Decimal

import pytest

from tt_capitalcom import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    SessionExpiredError,
    TransientError,
    classify_venue_error,
)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "error.invalid.details", AuthenticationError),
        (400, "error.null.api.key", AuthenticationError),
        (400, "error.invalid.api.key", AuthenticationError),
        (401, "error.invalid.session.token", SessionExpiredError),
        (400, "error.null.client.token", SessionExpiredError),
        (401, "error.security.account.token.invalid", SessionExpiredError),
        (403, None, SessionExpiredError),
        (429, "error.too-many.requests", RateLimitedError),
        (429, None, RateLimitedError),
        (503, "error.service.unavailable", TransientError),
        (500, None, TransientError),
        (404, "error.not-found.dealId", NotFoundError),
        (404, "error.prices.not-found", NotFoundError),
        (404, None, NotFoundError),
        (400, "error.invalid.stoploss.minvalue: 17.146", PermanentError),
        (400, "error.invalid.size.minvalue", PermanentError),
        (400, "error.not-in-future.goodTillDate", PermanentError),
        (400, "error.invalid.max.daterange", PermanentError),
        (400, "error.invalid.resolution", PermanentError),
        (400, "error.invalid.accountId", PermanentError),
    ],
)
def test_venue_codes_map_to_what_the_caller_must_do(status, code, expected):
    error = classify_venue_error(status, code, context="GET x")
    assert type(error) is expected
    assert error.status_code == status
    assert error.error_code == code


def test_session_problems_during_login_are_fatal_for_the_credentials():
    error = classify_venue_error(400, "error.null.client.token", context="POST session", during_login=True)
    assert isinstance(error, AuthenticationError)
    assert isinstance(
        classify_venue_error(401, None, context="POST session", during_login=True), AuthenticationError
    )


def test_rate_limit_carries_retry_after():
    error = classify_venue_error(429, "error.too-many.requests", context="POST session", retry_after=2.5)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 2.5


def test_permanent_error_exposes_the_bound_embedded_in_the_code():
    error = classify_venue_error(400, "error.invalid.takeprofit.maxvalue: 31.817", context="POST positions")
    assert isinstance(error, PermanentError)
    assert error.bound_value == Decimal("31.817")
    assert error.base_code == "error.invalid.takeprofit.maxvalue"
    plain = classify_venue_error(400, "error.invalid.size", context="POST positions")
    assert plain.bound_value is None
    assert plain.base_code == "error.invalid.size"


def test_message_names_the_request_and_the_code():
    error = classify_venue_error(404, "error.not-found.epic", context="GET markets/NOPE")
    assert str(error) == "GET markets/NOPE failed: HTTP 404 error.not-found.epic"
