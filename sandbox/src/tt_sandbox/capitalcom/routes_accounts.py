"""Accounts, preferences (leverage, hedging mode), demo top-up, activity and transaction history."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request

from .accounts import Activity, Transaction
from .deps import Caller, caller, json_body
from .errors import bad_request
from .formats import local_millis, parse_decimal, parse_input_time, utc_millis
from .instruments import LEVERAGE_CHOICES
from .views import balance

router = APIRouter()

TOPUP_LIMIT = Decimal(400_000)
ACTIVITY_FIELDS = ("epic", "source", "status", "type")


@router.get("/accounts")
async def accounts(c: Caller = Depends(caller)) -> dict[str, Any]:
    return {
        "accounts": [
            {
                "accountId": a.account_id,
                "accountName": a.name,
                "status": "ENABLED",
                "accountType": "CFD",
                "preferred": a.account_id == c.client.preferred_account_id,
                "balance": balance(c.sim.engine, a),
                "currency": a.currency,
            }
            for a in c.client.accounts
        ]
    }


@router.get("/accounts/preferences")
async def preferences(c: Caller = Depends(caller)) -> dict[str, Any]:
    account = c.account
    return {
        "hedgingMode": account.hedging,
        "leverages": {
            group: {"current": account.leverages[group], "available": choices}
            for group, choices in LEVERAGE_CHOICES.items()
        },
    }


@router.put("/accounts/preferences")
async def update_preferences(request: Request, c: Caller = Depends(caller)) -> dict[str, str]:
    body = await json_body(request)
    leverages = body.get("leverages") or {}
    if not isinstance(leverages, dict):
        raise bad_request("error.invalid.leverage.value")
    for group, value in leverages.items():
        if group not in LEVERAGE_CHOICES or value not in LEVERAGE_CHOICES[group]:
            raise bad_request("error.invalid.leverage.value")
    hedging = body.get("hedgingMode")
    if hedging is not None and not isinstance(hedging, bool):
        raise bad_request("error.invalid.hedgingMode")
    c.account.leverages.update(leverages)
    if hedging is not None:
        c.account.hedging = hedging
    return {"status": "SUCCESS"}


@router.post("/accounts/topUp")
async def top_up(request: Request, c: Caller = Depends(caller)) -> dict[str, bool]:
    """Demo only: amount -400000..400000, and the balance may not exceed the demo cap."""
    account = c.account
    c.sim.limiter.topup(account.account_id)
    amount = parse_decimal((await json_body(request)).get("amount"), "error.invalid.amount")
    if amount is None or amount == 0 or abs(amount) > TOPUP_LIMIT:
        raise bad_request("error.invalid.amount")
    if account.balance + amount > c.sim.config.demo_balance_cap or account.balance + amount < 0:
        raise bad_request("error.invalid.amount.balance")
    account.balance += amount
    kind = "DEPOSIT" if amount > 0 else "WITHDRAWAL"
    account.transactions.append(
        Transaction(c.sim.clock.now(), kind, kind.capitalize(), c.client.client_id, amount, account.currency)
    )
    return {"successful": True}


def _window(request: Request, now: datetime, max_span: timedelta | None) -> tuple[datetime, datetime]:
    params = request.query_params
    start = parse_input_time(params["from"], "error.invalid.from") if "from" in params else None
    end = parse_input_time(params["to"], "error.invalid.to") if "to" in params else None
    if start or end:
        # One bound alone implies a one-day range.
        start = start or end - timedelta(days=1)
        end = end or start + timedelta(days=1)
        if start > end or (max_span and end - start > max_span):
            raise bad_request("error.invalid.daterange")
        return start, end
    period_text = params.get("lastPeriod", "600")
    if not period_text.isdigit() or not 0 < int(period_text) <= 86400:
        raise bad_request("error.invalid.lastPeriod")
    return now - timedelta(seconds=int(period_text)), now


def _fiql(text: str) -> list[tuple[str, bool, set[str]]]:
    """`source!=DEALER;epic==OIL_CRUDE,GOLD` -> [(field, wanted, values)]; `;` is AND, `,` lists values."""
    clauses = []
    for clause in filter(None, text.split(";")):
        for operator, wanted in (("!=", False), ("==", True)):
            if operator in clause:
                name, values = clause.split(operator, 1)
                if name not in ACTIVITY_FIELDS:
                    raise bad_request("error.invalid.filter")
                clauses.append((name, wanted, set(values.split(","))))
                break
        else:
            raise bad_request("error.invalid.filter")
    return clauses


@router.get("/history/activity")
async def activity(request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    now = c.sim.clock.now()
    start, end = _window(request, now, timedelta(days=1))
    params = request.query_params
    detailed = params.get("detailed", "false").lower() == "true"
    deal_id = params.get("dealId")
    clauses = _fiql(params.get("filter", ""))

    def matches(a: Activity) -> bool:
        if not start <= a.date <= end or (deal_id and a.deal_id != deal_id):
            return False
        return all((getattr(a, name) in values) == wanted for name, wanted, values in clauses)

    offset = c.sim.config.timezone_offset_hours
    rows = []
    for a in sorted(filter(matches, c.account.activities), key=lambda a: a.date, reverse=True):
        row: dict[str, Any] = {
            "date": local_millis(a.date, offset),
            "dateUTC": utc_millis(a.date),
            "epic": a.epic,
            "dealId": a.deal_id,
            "source": a.source,
            "type": a.type,
            "status": a.status,
        }
        if detailed:
            row["details"] = {k: v for k, v in a.details.items() if v is not None}
        rows.append(row)
    return {"activities": rows}


@router.get("/history/transactions")
async def transactions(request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    now = c.sim.clock.now()
    start, end = _window(request, now, None)
    kind = request.query_params.get("type")
    offset = c.sim.config.timezone_offset_hours
    rows = []
    for t in sorted(c.account.transactions, key=lambda t: t.date, reverse=True):
        if not start <= t.date <= end or (kind and t.type != kind):
            continue
        row: dict[str, Any] = {"date": local_millis(t.date, offset), "dateUtc": utc_millis(t.date)}
        if t.instrument_name:
            row["instrumentName"] = t.instrument_name
        row |= {
            "transactionType": t.type,
            "note": t.note,
            "reference": t.reference,
            "size": str(t.amount),  # a string on the real API
            "currency": t.currency,
        }
        rows.append(row)
    return {"transactions": rows}
