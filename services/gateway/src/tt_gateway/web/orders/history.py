"""History: the broker's intent log with filters, each intent expandable to its attempts, venue
replies and reconciliation outcome; and the same filtered list as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tt_contracts.broker import IntentView
from tt_contracts.common import Side

from ...deps import PageUser, Principal, RuntimeDep
from ..shell import shell
from ..templating import render
from . import reads
from .pages import TABS
from .reads import CALL_ERRORS, PAPER, failure_text
from .ticket import SYMBOL_RE, plain

router = APIRouter(include_in_schema=False)

# The contract's intent kinds (ListIntents.intent_kind) and how the broker names them in its log.
KINDS = {"place": "OPEN", "close": "CLOSE", "cancel": "CANCEL"}
KIND_LABELS = {v: k for k, v in KINDS.items()}
STATES = [
    "NEW",
    "SENDING",
    "ACCEPTED",
    "REJECTED",
    "UNKNOWN",
    "RECONCILED_FILLED",
    "RECONCILED_NOT_PLACED",
]
CSV_COLUMNS = [
    "created_at",
    "intent_id",
    "kind",
    "account",
    "instrument",
    "side",
    "size",
    "state",
    "reason_code",
    "reason",
    "attempts",
    "deal_reference",
    "deal_id",
    "sent_at",
    "reconciliation",
    "idempotency_key",
]


@dataclass
class HistoryQuery:
    """The filter form as typed, its errors, and what the broker is asked."""

    form: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    filters: reads.IntentFilters = field(default_factory=reads.IntentFilters)
    paper_only: bool = False


def _day(text: str, name: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = "Enter a date like 2024-05-31."
        return None


def parse_query(params: dict[str, str], account_ids: set[str]) -> HistoryQuery:
    form = {
        k: params.get(k, "").strip()
        for k in ("account", "instrument", "since", "until", "side", "status", "kind")
    }
    query = HistoryQuery(form)
    errors = query.errors
    account = form["account"]
    if account and account != PAPER and account not in account_ids:
        errors["account"] = "Choose one of your accounts."
    if form["instrument"] and not SYMBOL_RE.match(form["instrument"]):
        errors["instrument"] = "Use the instrument's symbol, e.g. EURUSD."
    side = form["side"].upper()
    if side and side not in Side.__members__:
        errors["side"] = "Choose buy or sell."
    status = form["status"].upper()
    if status and status not in STATES:
        errors["status"] = "Choose a status from the list."
    kind = form["kind"].lower()
    if kind and kind not in KINDS:
        errors["kind"] = "Choose place, close or cancel."
    since, until = _day(form["since"], "since", errors), _day(form["until"], "until", errors)
    if since and until and until < since:
        errors["until"] = "The end date is before the start date."
    if errors:
        return query
    query.paper_only = account == PAPER
    query.filters = reads.IntentFilters(
        account_id=reads.parse_account(account),
        epic=form["instrument"] or None,
        side=Side(side) if side else None,
        state=status or None,
        intent_kind=kind or None,
        since=datetime.combine(since, time(), UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
        limit=1000,
    )
    return query


async def load(runtime, user: Principal, query: HistoryQuery) -> list[IntentView]:
    found = await reads.intents(runtime, user, query.filters)
    # The broker reads "no account" as every account; the paper broker's own log is the ones without.
    return [i for i in found if i.account_id is None] if query.paper_only else found


def _text(value: Any) -> str:
    """A cell as text: Decimals exact, times in ISO 8601, and no formula a spreadsheet would run."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = plain(value) if hasattr(value, "is_finite") else str(value)
    if text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and not _is_number(text)):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def reconciliation_text(intent: IntentView) -> str:
    return "; ".join(f"{k}={v}" for k, v in sorted((intent.reconciliation or {}).items()))


def csv_row(intent: IntentView) -> list[str]:
    values = {
        "created_at": intent.created_at,
        "intent_id": intent.intent_id,
        "kind": KIND_LABELS.get(intent.kind, intent.kind.lower()),
        "account": intent.account_id or PAPER,
        "instrument": intent.instrument.symbol if intent.instrument else None,
        "side": intent.side.value if intent.side else None,
        "size": intent.size,
        "state": intent.state,
        "reason_code": intent.reason_code,
        "reason": intent.reason,
        "attempts": intent.attempts,
        "deal_reference": intent.deal_reference,
        "deal_id": intent.deal_id,
        "sent_at": intent.sent_at,
        "reconciliation": reconciliation_text(intent),
        "idempotency_key": intent.idempotency_key,
    }
    return [_text(values[column]) for column in CSV_COLUMNS]


def to_csv(intents: list[IntentView]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(i) for i in intents)
    return out.getvalue()


async def history_accounts(runtime, user: Principal) -> tuple[list[tuple[str, str]], str | None]:
    """(key, label) of every account the log may mention, disconnected ones included."""
    try:
        views = await reads.list_accounts(runtime, user)
    except CALL_ERRORS as exc:
        return [(PAPER, reads.PAPER_CHOICE.label)], failure_text(exc)
    labels = [
        (str(v.account_id), reads.account_label(v) + ("" if v.status == "active" else f" ({v.status})"))
        for v in views
    ]
    return [(PAPER, reads.PAPER_CHOICE.label), *labels], None


@router.get("/orders/history", response_class=HTMLResponse)
async def history(request: Request, runtime: RuntimeDep, user: PageUser) -> Response:
    choices, accounts_error = await history_accounts(runtime, user)
    query = parse_query(dict(request.query_params), {key for key, _ in choices})
    intents: list[IntentView] = []
    error = accounts_error
    if not query.errors:
        try:
            intents = await load(runtime, user, query)
        except CALL_ERRORS as exc:
            error = failure_text(exc)
    export = "/orders/history.csv" + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        "orders/history.html",
        {
            **await shell(runtime, user),
            "tabs": TABS,
            "choices": choices,
            "form": query.form,
            "errors": query.errors,
            "error": error,
            "intents": intents,
            "kinds": list(KINDS),
            "kind_labels": KIND_LABELS,
            "states": STATES,
            "export_url": export,
            "reconciliation_text": reconciliation_text,
        },
        status_code=422 if query.errors else 200,
    )


@router.get("/orders/history.csv")
async def history_csv(request: Request, runtime: RuntimeDep, user: PageUser) -> Response:
    choices, _ = await history_accounts(runtime, user)
    query = parse_query(dict(request.query_params), {key for key, _ in choices})
    if query.errors:
        return Response("; ".join(query.errors.values()), status_code=422, media_type="text/plain")
    try:
        intents = await load(runtime, user, query)
    except CALL_ERRORS as exc:
        return Response(failure_text(exc), status_code=503, media_type="text/plain")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        to_csv(intents),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="order-history-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
