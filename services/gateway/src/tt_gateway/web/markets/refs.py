"""Instruments named in URLs: ``/markets/{venue}/{symbol}`` and ``venue:symbol`` lists."""

from __future__ import annotations

from tt_contracts.common import InstrumentRef

UPLOAD_VENUE = "upload"  # market-data keeps a user's uploaded data sets under this venue
MAX_LIVE_SYMBOLS = 100


def instrument_ref(venue: str, symbol: str) -> InstrumentRef:
    """The reference, or pydantic's ValidationError for names no instrument can have."""
    return InstrumentRef(venue=venue, symbol=symbol)


def ref_key(ref: InstrumentRef) -> str:
    return f"{ref.venue}:{ref.symbol}"


def parse_ref_list(text: str) -> list[InstrumentRef]:
    """``capitalcom:EURUSD,capitalcom:GOLD`` (a bare symbol means the default venue); raises ValueError."""
    refs: list[InstrumentRef] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        venue, _, symbol = item.rpartition(":")
        refs.append(InstrumentRef(venue=venue, symbol=symbol) if venue else InstrumentRef(symbol=symbol))
    if len(refs) > MAX_LIVE_SYMBOLS:
        raise ValueError(f"at most {MAX_LIVE_SYMBOLS} instruments per stream")
    return list(dict.fromkeys(refs))
