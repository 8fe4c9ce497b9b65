"""Conversions at the JSON edge: the venue's timestamp shapes, numbers, and tolerant input parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import bad_request

_INPUT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def utc_millis(when: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.sss`, no zone suffix (the `...UTC` fields)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def local_millis(when: datetime, offset_hours: int) -> str:
    """The plain (account-local) twin of a `...UTC` field."""
    return utc_millis(when + timedelta(hours=offset_hours))


def utc_seconds(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_input_time(value: str, code: str) -> datetime:
    """`YYYY-MM-DDTHH:MM:SS` in UTC; fractions, `Z`, offsets and epochs are rejected like the venue does."""
    if not _INPUT_TIME.match(value or ""):
        raise bad_request(code)
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise bad_request(code) from None


def num(value: Decimal | None) -> float | None:
    """A Decimal as a JSON number (the venue's payloads use numbers)."""
    return None if value is None else float(value)


def parse_decimal(value: Any, code: str) -> Decimal | None:
    """Accept numbers and numeric strings (sloppy clients send `"size": "5"`); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise bad_request(code)
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise bad_request(code) from None
    if not result.is_finite():
        raise bad_request(code)
    return result


def parse_bool(value: Any, code: str) -> bool:
    """Booleans, or "true"/"false" strings as in the venue's own curl example; None means false."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise bad_request(code)
