"""Trade Tracker contracts: the only vocabulary services share."""

from ._base import (
    Command,
    Credits,
    ErrorDetail,
    ErrorReply,
    Event,
    Message,
    Money,
    Price,
    Reply,
    Request,
    Size,
    UserScoped,
    UtcDatetime,
    utcnow,
)
from .registry import ROUTES, consumed_by, produced_by, route_for
from .routing import Route
from .streams import STREAMS, StreamSpec, stream_for
from .subjects import SERVICES, Subject

__all__ = [
    "ROUTES",
    "SERVICES",
    "STREAMS",
    "Command",
    "Credits",
    "ErrorDetail",
    "ErrorReply",
    "Event",
    "Message",
    "Money",
    "Price",
    "Reply",
    "Request",
    "Route",
    "Size",
    "StreamSpec",
    "Subject",
    "UserScoped",
    "UtcDatetime",
    "consumed_by",
    "produced_by",
    "route_for",
    "stream_for",
    "utcnow",
]
