"""CSV data sets: parse and validate into a report before anything is stored (pure; no I/O).

Errors (the file cannot be imported): size, encoding, missing columns, unparseable or off-grid
timestamps, duplicate timestamps, non-numeric or non-positive prices, inconsistent OHLC.
Warnings (imported, but the user should know): rows out of order (sorted on import), gaps, outliers.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from tt_contracts.market_data import UPLOAD_MAX_BYTES, UploadIssue, UploadReport

from .domain import Candle, bar_open, step

TIME_COLUMNS = ("time", "timestamp", "date", "datetime", "open_time")
REQUIRED = ("open", "high", "low", "close")
MAX_ROWS_LISTED = 10
OUTLIER_MADS = 12.0


@dataclass
class _Issues:
    found: dict[tuple[str, str], UploadIssue] = field(default_factory=dict)

    def add(self, code: str, severity: str, message: str, row: int | None = None) -> None:
        key = (code, severity)
        issue = self.found.get(key)
        if issue is None:
            self.found[key] = UploadIssue(
                code=code, severity=severity, message=message, rows=[row] if row else [], count=1
            )
            return
        rows = issue.rows if row is None or len(issue.rows) >= MAX_ROWS_LISTED else [*issue.rows, row]
        self.found[key] = issue.model_copy(update={"rows": rows, "count": issue.count + 1})

    @property
    def errors(self) -> bool:
        return any(i.severity == "error" for i in self.found.values())


@dataclass
class Parsed:
    report: UploadReport
    candles: list[Candle]


def parse_time(text: str) -> datetime:
    value = text.strip()
    if value.replace(".", "", 1).isdigit():
        number = float(value)
        if number > 1e11:  # milliseconds
            number /= 1000.0
        return datetime.fromtimestamp(number, UTC)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # naive times are taken as UTC (said in the upload form)
    return moment.astimezone(UTC)


def _report(issues: _Issues, rows: int, candles: list[Candle]) -> UploadReport:
    return UploadReport(
        ok=not issues.errors,
        rows=rows,
        first=candles[0].open_time if candles else None,
        last=candles[-1].open_time if candles else None,
        issues=list(issues.found.values()),
    )


def parse_and_validate(content: bytes, timeframe: str) -> Parsed:
    issues = _Issues()
    if len(content) > UPLOAD_MAX_BYTES:
        issues.add("size", "error", f"the file is over {UPLOAD_MAX_BYTES // (1024 * 1024)} MB")
        return Parsed(_report(issues, 0, []), [])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        issues.add("value", "error", "the file is not UTF-8 text")
        return Parsed(_report(issues, 0, []), [])
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    time_col = next((header.index(c) for c in TIME_COLUMNS if c in header), None)
    missing = [c for c in REQUIRED if c not in header]
    if time_col is None:
        missing.insert(0, "time")
    if missing:
        issues.add("columns", "error", f"missing column(s): {', '.join(missing)}; header: {header}")
        return Parsed(_report(issues, 0, []), [])
    idx = {c: header.index(c) for c in REQUIRED}
    vol_col = header.index("volume") if "volume" in header else None
    width = step(timeframe)
    candles: list[tuple[int, Candle]] = []
    seen: dict[datetime, int] = {}
    rows = 0
    previous: datetime | None = None
    for number, record in enumerate(reader, start=1):
        if not record or all(not cell.strip() for cell in record):
            continue
        rows += 1
        if len(record) < len(header):
            issues.add("columns", "error", "rows with fewer fields than the header", number)
            continue
        try:
            moment = parse_time(record[time_col])
        except (ValueError, OverflowError, OSError):
            issues.add("timestamp", "error", "unreadable timestamps (ISO 8601 or epoch seconds/ms)", number)
            continue
        if bar_open(moment, timeframe) != moment:
            issues.add(
                "timestamp", "error", f"timestamps not on the {timeframe} grid (bar open times)", number
            )
            continue
        try:
            o, h, lo, c = (Decimal(record[idx[k]].strip()) for k in REQUIRED)
            volume = Decimal(record[vol_col].strip() or 0) if vol_col is not None else Decimal(0)
        except (InvalidOperation, ValueError):
            issues.add("value", "error", "non-numeric prices or volume", number)
            continue
        if not all(v.is_finite() and v > 0 for v in (o, h, lo, c)) or not volume.is_finite() or volume < 0:
            issues.add("value", "error", "prices must be positive numbers, volume non-negative", number)
            continue
        if h < max(o, c, lo) or lo > min(o, c, h):
            issues.add(
                "ohlc", "error", "inconsistent OHLC (high below open/close/low or low above them)", number
            )
            continue
        if moment in seen:
            issues.add(
                "duplicate", "error", f"duplicate timestamps (first seen on row {seen[moment]})", number
            )
            continue
        seen[moment] = number
        if previous is not None and moment < previous:
            issues.add("order", "warning", "rows out of time order (they are sorted on import)", number)
        previous = moment
        candles.append((number, Candle(moment, o, h, lo, c, volume=volume, source="upload")))
    if rows == 0:
        issues.add("empty", "error", "no data rows")
    candles.sort(key=lambda item: item[1].open_time)
    for (_, before), (number, after) in itertools.pairwise(candles):
        missing_bars = int((after.open_time - before.open_time) / width) - 1
        if missing_bars > 0:
            issues.add(
                "gap",
                "warning",
                f"gaps between bars ({timeframe} grid); first after {before.open_time}",
                number,
            )
    _outliers(candles, issues)
    ordered = [c for _, c in candles]
    return Parsed(_report(issues, rows, ordered), ordered)


def _outliers(candles: list[tuple[int, Candle]], issues: _Issues) -> None:
    """Close-to-close log returns beyond OUTLIER_MADS robust deviations from the median."""
    if len(candles) < 20:
        return
    closes = [float(c.bid_close) for _, c in candles]
    returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    med = statistics.median(returns)
    mad = statistics.median(abs(r - med) for r in returns) * 1.4826
    if mad == 0:
        return
    for (number, _), r in zip(candles[1:], returns, strict=True):
        if abs(r - med) > OUTLIER_MADS * mad:
            issues.add("outlier", "warning", f"price jumps over {OUTLIER_MADS:g} robust deviations", number)
