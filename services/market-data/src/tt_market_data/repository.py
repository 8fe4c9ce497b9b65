"""Queries. Candles go through psycopg directly: binary COPY (straight into the table for new bars,
else into a temp table, then one INSERT … ON CONFLICT); range reads as plain tuples. Queries run on the
connection they are given: the unit of work's for writes (they share its transaction), a read
connection for pure reads."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tt_runtime.db import UnitOfWork

from .adapters.capitalcom import InstrumentRecord
from .domain import GRID_ANCHOR, TIMEFRAME_SECONDS
from .models import backfill_state, instrument, watchlist_item

CANDLE_COLUMNS = (
    "instrument_id",
    "timeframe",
    "open_time",
    "bid_open",
    "bid_high",
    "bid_low",
    "bid_close",
    "ask_open",
    "ask_high",
    "ask_low",
    "ask_close",
    "volume",
    "source",
)
CANDLE_TYPES = ("int4", "text", "timestamptz", *("numeric",) * 9, "text")
_COLS = ", ".join(CANDLE_COLUMNS)


async def pg(uow: UnitOfWork) -> psycopg.AsyncConnection:
    """The psycopg connection under the unit of work's session (same transaction)."""
    conn = await uow.session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection  # type: ignore[return-value]


# --- candles ------------------------------------------------------------------------------------


async def copy_candles(conn: psycopg.AsyncConnection, rows: Iterable[Sequence[Any]], *, update: bool) -> int:
    """Bulk write. Returns rows written.

    New bars (the usual case: a backfill page past the resume point, a fresh upload) go by binary COPY
    straight into the table, inside a savepoint. When stored bars overlap the batch, or the direct COPY
    hits a duplicate (a concurrent writer, a repeated bar), the batch goes the general way: binary COPY
    into a session temp table, then INSERT … ON CONFLICT. ``update=False`` keeps existing bars (DO
    NOTHING); ``update=True`` replaces bars that were not yet announced (an announced bar is final)."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return 0
    async with conn.cursor() as cur:
        if not await _overlaps_stored(cur, rows):
            # A savepoint inside the caller's transaction (never autocommit: the unit of work owns it).
            await cur.execute("SAVEPOINT candle_copy")
            try:
                await _copy(cur, "market_data.candle", rows)
            except psycopg.errors.UniqueViolation:
                await cur.execute("ROLLBACK TO SAVEPOINT candle_copy")  # then take the upsert path
            else:
                await cur.execute("RELEASE SAVEPOINT candle_copy")
                await bump_series(cur, ((r[0], r[1]) for r in rows))
                return len(rows)
        await cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS candle_load "
            "(LIKE market_data.candle INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await cur.execute("TRUNCATE candle_load")
        await _copy(cur, "candle_load", rows)
        conflict = "DO NOTHING"
        if update:
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in CANDLE_COLUMNS[3:])
            conflict = f"DO UPDATE SET {sets} WHERE NOT candle.announced"
        await cur.execute(
            f"INSERT INTO market_data.candle AS candle ({_COLS}) SELECT {_COLS} FROM candle_load "
            f"ORDER BY instrument_id, timeframe, open_time ON CONFLICT (instrument_id, timeframe, open_time) "
            f"{conflict}"
        )
        written = max(cur.rowcount, 0)
        if written:
            await bump_series(cur, ((r[0], r[1]) for r in rows))
        return written


async def _copy(cur: psycopg.AsyncCursor, table: str, rows: list[Sequence[Any]]) -> None:
    async with cur.copy(f"COPY {table} ({_COLS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(CANDLE_TYPES))
        for row in rows:
            await copy.write_row(row)


async def _overlaps_stored(cur: psycopg.AsyncCursor, rows: list[Sequence[Any]]) -> bool:
    """Whether any stored bar lies inside the batch's time span of one of its (instrument, timeframe)."""
    spans: dict[tuple[int, str], list[datetime]] = {}
    for row in rows:
        span = spans.get((row[0], row[1]))
        if span is None:
            spans[(row[0], row[1])] = [row[2], row[2]]
        elif row[2] < span[0]:
            span[0] = row[2]
        elif row[2] > span[1]:
            span[1] = row[2]
    keys = list(spans)
    await cur.execute(
        "SELECT EXISTS (SELECT 1 FROM unnest(%s::int[], %s::text[], %s::timestamptz[], %s::timestamptz[]) "
        "AS k(i, t, lo, hi) WHERE EXISTS (SELECT 1 FROM market_data.candle c WHERE c.instrument_id = k.i "
        "AND c.timeframe = k.t AND c.open_time BETWEEN k.lo AND k.hi))",
        (
            [k[0] for k in keys],
            [k[1] for k in keys],
            [spans[k][0] for k in keys],
            [spans[k][1] for k in keys],
        ),
    )
    return bool((await cur.fetchone())[0])


async def claim_closed_candle(conn: psycopg.AsyncConnection, row: Sequence[Any]) -> bool:
    """Store a live bar and claim its announcement. True for exactly one caller per bar, ever.

    The row lock taken by the upsert serialises replicas; ``announced`` flips once, in the same
    transaction as the outbox row the winner writes."""
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in CANDLE_COLUMNS[3:])
    placeholders = ", ".join(["%s"] * len(CANDLE_COLUMNS))
    async with conn.cursor() as cur:
        await cur.execute(
            f"INSERT INTO market_data.candle AS candle ({_COLS}, announced) VALUES ({placeholders}, true) "
            f"ON CONFLICT (instrument_id, timeframe, open_time) DO UPDATE SET {sets}, announced = true "
            f"WHERE NOT candle.announced RETURNING open_time",
            tuple(row),
        )
        return (await cur.fetchone()) is not None


# The columns a reply needs for each price side, in the reply's order: open, high, low, close, volume,
# then the close spread (NULL where the ask is unknown). ``mid`` is computed in Python from both sides
# so its decimals stay exact; ``ask`` falls back to the bid where no ask is stored (uploaded data).
PRICE_COLUMNS = {
    "bid": "bid_open, bid_high, bid_low, bid_close, volume, ask_close - bid_close",
    "ask": (
        "COALESCE(ask_open, bid_open), COALESCE(ask_high, bid_high), COALESCE(ask_low, bid_low), "
        "COALESCE(ask_close, bid_close), volume, ask_close - bid_close"
    ),
    "mid": "bid_open, bid_high, bid_low, bid_close, volume, ask_close - bid_close, "
    "ask_open, ask_high, ask_low, ask_close",
}


def range_sql(price: str, *, start: bool, end: bool) -> str:
    """Oldest first from ``start``, else newest first before ``end`` (the caller reverses): one index
    range scan on the primary key either way."""
    sql = (
        f"SELECT open_time, {PRICE_COLUMNS[price]} FROM market_data.candle "
        "WHERE instrument_id = %s AND timeframe = %s "
    )
    if start:
        sql += "AND open_time >= %s "
    if end:
        sql += "AND open_time < %s "
    return sql + f"ORDER BY open_time {'ASC' if start else 'DESC'} LIMIT %s"


async def read_candles(
    conn: psycopg.AsyncConnection,
    instrument_id: int,
    timeframe: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    price: str = "bid",
) -> list[tuple]:
    """Oldest first. With ``start``: the first ``limit`` bars from it; otherwise the last ``limit``
    bars before ``end``. Rows are (open_time, open, high, low, close, volume, spread[, ask o/h/l/c])."""
    params: list[Any] = [instrument_id, timeframe]
    params += [t for t in (start, end) if t is not None]
    params.append(limit)
    # Text results: psycopg builds a Decimal from numeric text about twice as fast as from binary.
    async with conn.cursor() as cur:
        await cur.execute(range_sql(price, start=start is not None, end=end is not None), params)
        rows = await cur.fetchall()
    if start is None:
        rows.reverse()
    return rows


async def series_revision(conn: psycopg.AsyncConnection, instrument_id: int, timeframe: str) -> int:
    """Bumped by every write of the series: a reply built at one revision is current while it holds."""
    cur = await conn.execute(
        "SELECT revision FROM market_data.candle_series WHERE instrument_id = %s AND timeframe = %s",
        (instrument_id, timeframe),
    )
    row = await cur.fetchone()
    return row[0] if row else 0


async def series_revisions(conn: psycopg.AsyncConnection, instrument_id: int) -> tuple[tuple[str, int], ...]:
    """Every series revision of one instrument: a summary built at these revisions is still current."""
    cur = await conn.execute(
        "SELECT timeframe, revision FROM market_data.candle_series "
        "WHERE instrument_id = %s ORDER BY timeframe",
        (instrument_id,),
    )
    return tuple(await cur.fetchall())


async def bump_series(
    cur: psycopg.AsyncConnection | psycopg.AsyncCursor, keys: Iterable[tuple[int, str]]
) -> None:
    """In the writer's transaction; sorted, so concurrent writers lock the rows in one order."""
    keys = sorted(set(keys))
    if not keys:
        return
    await cur.execute(
        "INSERT INTO market_data.candle_series AS s (instrument_id, timeframe) "
        "SELECT * FROM unnest(%s::int[], %s::text[]) "
        "ON CONFLICT (instrument_id, timeframe) DO UPDATE SET revision = s.revision + 1",
        ([k[0] for k in keys], [k[1] for k in keys]),
    )


async def open_times(
    conn: psycopg.AsyncConnection, instrument_id: int, timeframe: str, start: datetime, end: datetime
) -> list[datetime]:
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT open_time FROM market_data.candle WHERE instrument_id = %s AND timeframe = %s "
            "AND open_time >= %s AND open_time < %s ORDER BY open_time",
            (instrument_id, timeframe, start, end),
        )
        return [r[0] for r in await cur.fetchall()]


async def latest_candle(conn: psycopg.AsyncConnection, instrument_id: int) -> tuple | None:
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT open_time, bid_close, ask_close, timeframe FROM market_data.candle "
            "WHERE instrument_id = %s AND timeframe = '1m' ORDER BY open_time DESC LIMIT 1",
            (instrument_id,),
        )
        return await cur.fetchone()


# --- coverage -------------------------------------------------------------------------------------

# Slot of the week of a bar, per timeframe, as an index into the concatenated week masks of all
# timeframes (``coverage_counts``): each timeframe's mask starts where the previous one's ends.
_WEEK = 7 * 86400
_MASK_OFFSETS = dict(
    zip(
        TIMEFRAME_SECONDS,
        itertools.accumulate((_WEEK // s for s in TIMEFRAME_SECONDS.values()), initial=0),
        strict=False,
    )
)
_EPOCH_OF_ANCHOR = int(GRID_ANCHOR.timestamp())


def _slot_index(timeframe: str, seconds: int) -> str:
    slots = _WEEK // seconds
    # date_part is float8 (exact for whole seconds); extract() is numeric, twice as slow over many rows.
    slot = f"floor((date_part('epoch', open_time) - {_EPOCH_OF_ANCHOR}) / {seconds})::bigint"
    week_slot = f"mod(mod({slot}, {slots}) + {slots}, {slots})"  # also before the anchor
    return f"WHEN '{timeframe}' THEN {_MASK_OFFSETS[timeframe] + 1} + {week_slot}"


_SLOT_INDEX = f"CASE timeframe {' '.join(_slot_index(tf, s) for tf, s in TIMEFRAME_SECONDS.items())} END"


async def coverage_counts(
    conn: psycopg.AsyncConnection, instrument_id: int, week_masks: dict[str, Sequence[bool]]
) -> list[tuple]:
    """(timeframe, source, bars, first, last, bars on open slots) for every stored series of the
    instrument, in one pass over its rows. ``week_masks``: per timeframe, whether each slot of the week
    (from the grid's Monday anchor) is inside trading hours."""
    mask = [bool(v) for tf in TIMEFRAME_SECONDS for v in week_masks[tf]]
    cur = await conn.execute(
        "SELECT timeframe, source, count(*), min(open_time), max(open_time), "
        f"count(*) FILTER (WHERE (%s::boolean[])[{_SLOT_INDEX}]) FROM market_data.candle "
        "WHERE instrument_id = %s GROUP BY timeframe, source",
        (mask, instrument_id),
    )
    return await cur.fetchall()


# --- backfill state -----------------------------------------------------------------------------


async def get_backfill_state(uow: UnitOfWork, instrument_id: int, timeframe: str) -> Any:
    stmt = select(backfill_state).where(
        backfill_state.c.instrument_id == instrument_id, backfill_state.c.timeframe == timeframe
    )
    return (await uow.execute(stmt)).first()


async def save_backfill_state(
    uow: UnitOfWork,
    instrument_id: int,
    timeframe: str,
    covered_from: datetime,
    complete_until: datetime,
    gaps: list[datetime] | None = None,
) -> None:
    values: dict[str, Any] = dict(
        instrument_id=instrument_id,
        timeframe=timeframe,
        covered_from=covered_from,
        complete_until=complete_until,
        updated_at=func.now(),
    )
    if gaps is not None:
        values["gaps"] = [g.isoformat() for g in gaps]
    stmt = pg_insert(backfill_state).values(**values)
    update = {k: stmt.excluded[k] for k in values if k not in ("instrument_id", "timeframe")}
    await uow.execute(stmt.on_conflict_do_update(index_elements=["instrument_id", "timeframe"], set_=update))


# --- instruments --------------------------------------------------------------------------------


def _search_text(symbol: str, name: str, instrument_type: str) -> str:
    return f"{symbol} {name} {instrument_type}".lower()


async def upsert_instruments(uow: UnitOfWork, venue: str, records: list[InstrumentRecord]) -> None:
    if not records:
        return
    rows = [
        dict(
            venue=venue,
            symbol=r.symbol,
            name=r.name,
            instrument_type=r.instrument_type,
            currency=r.currency,
            status=r.status,
            dealing_rules=r.dealing_rules,
            trading_hours=r.trading_hours,
            search_text=_search_text(r.symbol, r.name, r.instrument_type),
        )
        for r in records
    ]
    stmt = pg_insert(instrument).values(rows)
    keep = ("name", "instrument_type", "currency", "status", "dealing_rules", "trading_hours", "search_text")
    stmt = stmt.on_conflict_do_update(
        constraint="instrument_venue_symbol",
        set_={**{k: stmt.excluded[k] for k in keep}, "updated_at": func.now()},
    )
    await uow.execute(stmt)


async def ensure_instrument(
    uow: UnitOfWork, venue: str, symbol: str, *, name: str, instrument_type: str, owner: UUID | None
) -> Any:
    stmt = (
        pg_insert(instrument)
        .values(
            venue=venue,
            symbol=symbol,
            name=name,
            instrument_type=instrument_type,
            currency="",
            owner_user_id=owner,
            search_text=_search_text(symbol, name, instrument_type),
        )
        .on_conflict_do_nothing(constraint="instrument_venue_symbol")
    )
    await uow.execute(stmt)
    return await find_instrument(uow, venue, symbol)


async def find_instrument(uow: UnitOfWork, venue: str, symbol: str) -> Any:
    stmt = select(instrument).where(instrument.c.venue == venue, instrument.c.symbol == symbol)
    return (await uow.execute(stmt)).first()


async def read_instrument(conn: psycopg.AsyncConnection, venue: str, symbol: str) -> Any:
    """``find_instrument`` on a plain psycopg connection (same columns, attribute access)."""
    async with conn.cursor(row_factory=namedtuple_row) as cur:
        await cur.execute(
            "SELECT * FROM market_data.instrument WHERE venue = %s AND symbol = %s", (venue, symbol)
        )
        return await cur.fetchone()


def _visible(user_id: UUID | None):
    if user_id is None:
        return instrument.c.owner_user_id.is_(None)
    return or_(instrument.c.owner_user_id.is_(None), instrument.c.owner_user_id == user_id)


async def search_instruments(
    uow: UnitOfWork, text: str, instrument_type: str | None, limit: int, offset: int
) -> list[Any]:
    stmt = select(instrument).where(_visible(None))
    words = [w for w in text.lower().split() if w]
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(instrument.c.search_text.like(f"%{escaped}%", escape="\\"))
    if instrument_type:
        stmt = stmt.where(func.upper(instrument.c.instrument_type) == instrument_type.upper())
    # Exact symbol first, then symbols starting with the text, then by name.
    first = words[0] if words else ""
    stmt = stmt.order_by(
        (func.lower(instrument.c.symbol) != first),
        (~func.lower(instrument.c.symbol).startswith(first)),
        instrument.c.name,
    )
    return list((await uow.execute(stmt.limit(limit).offset(offset))).all())


async def count_by_type(uow: UnitOfWork, venue: str) -> dict[str, int]:
    stmt = (
        select(instrument.c.instrument_type, func.count())
        .where(instrument.c.venue == venue)
        .group_by(instrument.c.instrument_type)
    )
    return {t: n for t, n in (await uow.execute(stmt)).all()}


# --- watchlists ---------------------------------------------------------------------------------


async def watchlist(uow: UnitOfWork, user_id: UUID, name: str) -> list[Any]:
    stmt = (
        select(instrument)
        .join(watchlist_item, watchlist_item.c.instrument_id == instrument.c.id)
        .where(watchlist_item.c.user_id == user_id, watchlist_item.c.name == name)
        .order_by(watchlist_item.c.added_at, instrument.c.symbol)
    )
    return list((await uow.execute(stmt)).all())


async def watchlist_add(uow: UnitOfWork, user_id: UUID, name: str, instrument_id: int) -> None:
    stmt = pg_insert(watchlist_item).values(user_id=user_id, name=name, instrument_id=instrument_id)
    await uow.execute(stmt.on_conflict_do_nothing())


async def watchlist_remove(uow: UnitOfWork, user_id: UUID, name: str, instrument_id: int) -> None:
    await uow.execute(
        delete(watchlist_item).where(
            and_(
                watchlist_item.c.user_id == user_id,
                watchlist_item.c.name == name,
                watchlist_item.c.instrument_id == instrument_id,
            )
        )
    )


async def watched_symbols(uow: UnitOfWork, venue: str, limit: int) -> list[str]:
    stmt = (
        select(instrument.c.symbol)
        .join(watchlist_item, watchlist_item.c.instrument_id == instrument.c.id)
        .where(instrument.c.venue == venue)
        .group_by(instrument.c.symbol)
        .order_by(func.count().desc(), instrument.c.symbol)
        .limit(limit)
    )
    return list((await uow.execute(stmt)).scalars().all())


def hours_of(row: Any) -> dict[str, Any] | None:
    value = row.trading_hours
    return json.loads(value) if isinstance(value, str) else value


def upload_job_insert(**values: Any) -> Any:
    from .models import upload_job

    return upload_job.insert().values(**values)
