"""Positions, working orders and deal confirmations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from .deps import Caller, caller, json_body
from .engine import OrderRequest
from .errors import ApiError, bad_request
from .formats import parse_bool, parse_decimal, parse_input_time
from .rules import Protection
from .views import position as position_view
from .views import working_order as working_order_view

router = APIRouter()


def _protection(body: dict[str, Any]) -> Protection:
    return Protection(
        stop_level=parse_decimal(body.get("stopLevel"), "error.invalid.stoploss"),
        stop_distance=parse_decimal(body.get("stopDistance"), "error.invalid.stopdistance"),
        stop_amount=parse_decimal(body.get("stopAmount"), "error.invalid.stopamount"),
        profit_level=parse_decimal(body.get("profitLevel"), "error.invalid.takeprofit"),
        profit_distance=parse_decimal(body.get("profitDistance"), "error.invalid.profitdistance"),
        profit_amount=parse_decimal(body.get("profitAmount"), "error.invalid.profitamount"),
        trailing_stop=parse_bool(body.get("trailingStop"), "error.invalid.trailingStop"),
        guaranteed_stop=parse_bool(body.get("guaranteedStop"), "error.invalid.guaranteedStop"),
    )


def _order_request(body: dict[str, Any], working: bool) -> OrderRequest:
    epic = body.get("epic")
    if not isinstance(epic, str) or not epic:
        raise bad_request("error.null.epic")
    direction = body.get("direction")
    if direction not in ("BUY", "SELL"):
        raise bad_request("error.invalid.direction")
    size = parse_decimal(body.get("size"), "error.invalid.size")
    if size is None:
        raise bad_request("error.null.size")
    if not working:
        return OrderRequest(epic, direction, size, _protection(body))
    level = parse_decimal(body.get("level"), "error.invalid.level")
    if level is None:
        raise bad_request("error.null.level")
    order_type = body.get("type")
    if order_type not in ("LIMIT", "STOP"):
        raise bad_request("error.invalid.type")
    good_till = body.get("goodTillDate")
    expiry = parse_input_time(good_till, "error.invalid.goodTillDate") if good_till else None
    return OrderRequest(epic, direction, size, _protection(body), level, order_type, expiry)


def _limit_trade(c: Caller, request: OrderRequest) -> str | None:
    """Applies the trade-rate limits; returns a rejected confirm's reference when configured that way."""
    try:
        c.sim.limiter.trade(c.client.client_id)
    except ApiError:
        if c.sim.config.trade_rate_rejection == "http":
            raise
        return c.sim.engine.reject(c.account, request, "RISK_CHECK")
    return None


# ---- positions ----------------------------------------------------------------------------------
@router.get("/positions")
async def positions(c: Caller = Depends(caller)) -> dict[str, Any]:
    account = c.account
    ordered = sorted(account.positions.values(), key=lambda p: p.created)
    return {"positions": [position_view(c.sim.engine, account, p) for p in ordered]}


@router.get("/positions/{deal_id}")
async def position(deal_id: str, c: Caller = Depends(caller)) -> dict[str, Any]:
    return position_view(c.sim.engine, c.account, c.sim.engine.position(c.account, deal_id))


@router.post("/positions")
async def open_position(request: Request, c: Caller = Depends(caller)) -> dict[str, str]:
    order = _order_request(await json_body(request), working=False)
    reference = _limit_trade(c, order) or c.sim.engine.open_position(c.account, order)
    return {"dealReference": reference}


@router.put("/positions/{deal_id}")
async def amend_position(deal_id: str, request: Request, c: Caller = Depends(caller)) -> dict[str, str]:
    protection = _protection(await json_body(request))
    return {"dealReference": c.sim.engine.amend_position(c.account, deal_id, protection)}


@router.delete("/positions/{deal_id}")
async def close_position(deal_id: str, c: Caller = Depends(caller)) -> dict[str, str]:
    return {"dealReference": c.sim.engine.close_position(c.account, deal_id)}


@router.delete("/positions")
async def close_position_legacy(request: Request, c: Caller = Depends(caller)) -> dict[str, str]:
    """Undocumented IG-style close with a JSON body, used by several libraries; always a full close."""
    deal_id = (await json_body(request)).get("dealId")
    if not isinstance(deal_id, str):
        raise bad_request("error.null.dealId")
    return {"dealReference": c.sim.engine.close_position(c.account, deal_id)}


# ---- working orders --------------------------------------------------------------------------------
@router.get("/workingorders")
async def working_orders(c: Caller = Depends(caller)) -> dict[str, Any]:
    ordered = sorted(c.account.orders.values(), key=lambda o: o.created)
    return {"workingOrders": [working_order_view(c.sim.engine, o) for o in ordered]}


@router.post("/workingorders")
async def create_working_order(request: Request, c: Caller = Depends(caller)) -> dict[str, str]:
    order = _order_request(await json_body(request), working=True)
    reference = _limit_trade(c, order) or c.sim.engine.create_order(c.account, order)
    return {"dealReference": reference}


@router.put("/workingorders/{deal_id}")
async def amend_working_order(deal_id: str, request: Request, c: Caller = Depends(caller)) -> dict[str, str]:
    body = await json_body(request)
    level = parse_decimal(body.get("level"), "error.invalid.level")
    good_till_text = body.get("goodTillDate")
    good_till = parse_input_time(good_till_text, "error.invalid.goodTillDate") if good_till_text else None
    reference = c.sim.engine.amend_order(c.account, deal_id, level, good_till, _protection(body))
    return {"dealReference": reference}


@router.delete("/workingorders/{deal_id}")
async def delete_working_order(deal_id: str, c: Caller = Depends(caller)) -> dict[str, str]:
    return {"dealReference": c.sim.engine.delete_order(c.account, deal_id)}


# ---- confirms -------------------------------------------------------------------------------------
@router.get("/confirms/{deal_reference}")
async def confirm(deal_reference: str, c: Caller = Depends(caller)) -> dict[str, Any]:
    return c.sim.engine.confirm(c.account, deal_reference, hidden_for=c.sim.faults.confirm_delay)
