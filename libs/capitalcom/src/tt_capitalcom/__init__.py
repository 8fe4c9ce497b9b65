"""Async Capital.com client: REST (`CapitalComClient`) and streaming (`CapitalComStream`).

Errors tell the caller what to do (see `errors`); prices and sizes are `Decimal`; times are UTC.
"""

from .auth import SessionTokens, encrypt_password
from .config import CapitalComConfig, RateLimit
from .constants import BarType, DealStatus, Direction, Environment, Resolution, WorkingOrderType
from .errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    CapitalComError,
    DealRejectedError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    SessionExpiredError,
    TransientError,
    classify_venue_error,
)
from .http import CapitalComClient
from .orders import Protection
from .parse import Bar, PriceSide, Tick, bars_from_prices
from .ratelimit import TokenBucket
from .websocket import BarSubscription, CapitalComStream, StreamConnected, StreamDisconnected, StreamEvent

__all__ = [
    "AmbiguousOutcomeError",
    "AuthenticationError",
    "Bar",
    "BarSubscription",
    "BarType",
    "CapitalComClient",
    "CapitalComConfig",
    "CapitalComError",
    "CapitalComStream",
    "DealRejectedError",
    "DealStatus",
    "Direction",
    "Environment",
    "NotFoundError",
    "PermanentError",
    "PriceSide",
    "Protection",
    "RateLimit",
    "RateLimitedError",
    "Resolution",
    "SessionExpiredError",
    "SessionTokens",
    "StreamConnected",
    "StreamDisconnected",
    "StreamEvent",
    "Tick",
    "TokenBucket",
    "TransientError",
    "WorkingOrderType",
    "bars_from_prices",
    "classify_venue_error",
    "encrypt_password",
]
