"""Sandbox-only controls (the real API has nothing like this): faults, accounts, the clock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request

from .deps import json_body, simulator
from .errors import bad_request
from .formats import parse_bool, parse_decimal, utc_millis
from .simulator import Simulator

router = APIRouter(prefix="/_admin")


@router.get("/faults")
async def faults(sim: Simulator = Depends(simulator)) -> dict[str, Any]:
    return sim.faults.as_dict()


@router.put("/faults")
@router.post("/faults")
async def set_faults(request: Request, sim: Simulator = Depends(simulator)) -> dict[str, Any]:
    try:
        sim.faults.set(**await json_body(request))
    except (ValueError, TypeError) as error:
        raise bad_request(f"error.invalid.faults: {error}") from None
    return sim.faults.as_dict()


@router.delete("/faults")
async def reset_faults(sim: Simulator = Depends(simulator)) -> dict[str, Any]:
    sim.faults.reset()
    return sim.faults.as_dict()


@router.post("/faults/reject-deals")
async def reject_deals(request: Request, sim: Simulator = Depends(simulator)) -> dict[str, Any]:
    body = await json_body(request)
    sim.faults.reject_next_deals(int(body.get("count", 1)), str(body.get("reason", "RISK_CHECK")))
    return sim.faults.as_dict()


@router.post("/faults/drop-websockets")
async def drop_websockets(sim: Simulator = Depends(simulator)) -> dict[str, int]:
    return {"dropped": sim.faults.drop_websockets()}


@router.post("/faults/invalidate-sessions")
async def invalidate_sessions(request: Request, sim: Simulator = Depends(simulator)) -> dict[str, int]:
    api_key = (await json_body(request)).get("apiKey")
    try:
        return {"invalidated": sim.faults.invalidate_sessions(api_key)}
    except ValueError:
        raise bad_request("error.invalid.api.key") from None


@router.post("/accounts")
async def create_account(request: Request, sim: Simulator = Depends(simulator)) -> dict[str, Any]:
    body = await json_body(request)
    balance = parse_decimal(body.get("balance", "10000"), "error.invalid.balance") or Decimal(0)
    creds = sim.create_account(
        currency=str(body.get("currency", "USD")),
        balance=balance,
        hedging=parse_bool(body.get("hedging"), "error.invalid.hedging"),
    )
    return {
        "apiKey": creds.api_key,
        "identifier": creds.identifier,
        "password": creds.password,
        "accountId": creds.account_id,
        "clientId": creds.client_id,
    }


@router.get("/clock")
async def clock(sim: Simulator = Depends(simulator)) -> dict[str, Any]:
    return {"kind": sim.clock.kind, "now": utc_millis(sim.clock.now())}


@router.post("/clock/advance")
async def advance(request: Request, sim: Simulator = Depends(simulator)) -> dict[str, Any]:
    if sim.clock.kind != "stepped":
        raise bad_request("error.clock.not-stepped")
    seconds = parse_decimal((await json_body(request)).get("seconds"), "error.invalid.seconds")
    if seconds is None or seconds < 0:
        raise bad_request("error.invalid.seconds")
    sim.clock.advance(float(seconds))
    return {"kind": sim.clock.kind, "now": utc_millis(sim.clock.now())}
