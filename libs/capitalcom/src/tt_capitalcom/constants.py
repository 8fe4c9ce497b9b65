"""Venue constants: hosts, resolutions and the limits the venue documents."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

LIVE_REST_URL = "https://api-capital.backend-capital.com/api/v1"
DEMO_REST_URL = "https://demo-api-capital.backend-capital.com/api/v1"
# The venue documents one streaming host for both environments; demo tokens work against it.
STREAMING_URL = "wss://api-streaming-capital.backend-capital.com/connect"

SESSION_IDLE_TIMEOUT = timedelta(minutes=10)
MAX_STREAM_EPICS = 40
MAX_MARKET_DETAILS_EPICS = 50
MAX_PRICE_BARS = 1000
MAX_ACTIVITY_RANGE = timedelta(days=1)

# Query and body timestamps: UTC, no fraction, no zone suffix (a suffix is rejected).
VENUE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


class Environment(StrEnum):
    DEMO = "demo"
    LIVE = "live"


class Resolution(StrEnum):
    MINUTE = "MINUTE"
    MINUTE_5 = "MINUTE_5"
    MINUTE_15 = "MINUTE_15"
    MINUTE_30 = "MINUTE_30"
    HOUR = "HOUR"
    HOUR_4 = "HOUR_4"
    DAY = "DAY"
    WEEK = "WEEK"

    @property
    def duration(self) -> timedelta:
        return _RESOLUTION_DURATIONS[self]


_RESOLUTION_DURATIONS = {
    Resolution.MINUTE: timedelta(minutes=1),
    Resolution.MINUTE_5: timedelta(minutes=5),
    Resolution.MINUTE_15: timedelta(minutes=15),
    Resolution.MINUTE_30: timedelta(minutes=30),
    Resolution.HOUR: timedelta(hours=1),
    Resolution.HOUR_4: timedelta(hours=4),
    Resolution.DAY: timedelta(days=1),
    Resolution.WEEK: timedelta(weeks=1),
}


class Direction(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class WorkingOrderType(StrEnum):
    LIMIT = "LIMIT"
    STOP = "STOP"


class DealStatus(StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class BarType(StrEnum):
    CLASSIC = "classic"
    HEIKIN_ASHI = "heikin-ashi"
