"""Time, encryption key, session create/read/switch/delete, ping."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from .deps import Caller, caller, json_body, simulator
from .errors import bad_request
from .formats import epoch_ms, parse_bool
from .simulator import Simulator
from .views import balance

router = APIRouter()


@router.get("/time")
async def server_time(sim: Simulator = Depends(simulator)) -> dict[str, int]:
    return {"serverTime": epoch_ms(sim.clock.now())}


@router.get("/session/encryptionKey")
async def encryption_key(request: Request, sim: Simulator = Depends(simulator)) -> dict[str, Any]:
    sim.sessions.client_for_key(request.headers.get("X-CAP-API-KEY"))
    return {"encryptionKey": sim.sessions.public_key_b64, "timeStamp": epoch_ms(sim.clock.now())}


@router.post("/session")
async def create_session(
    request: Request, response: Response, sim: Simulator = Depends(simulator)
) -> dict[str, Any]:
    client = sim.sessions.client_for_key(request.headers.get("X-CAP-API-KEY"))
    sim.limiter.session_create(client.api_key)
    body = await json_body(request)
    identifier, password = body.get("identifier"), body.get("password")
    if not isinstance(identifier, str) or not identifier:
        raise bad_request("error.null.identifier")
    if not isinstance(password, str) or not password:
        raise bad_request("error.null.password")
    encrypted = parse_bool(body.get("encryptedPassword"), "error.invalid.encryptedPassword")
    session = sim.sessions.login(client, identifier, password, encrypted, sim.clock.now())
    response.headers["CST"] = session.cst
    response.headers["X-SECURITY-TOKEN"] = session.security_token
    current = Caller(sim, session).account
    accounts = [
        {
            "accountId": a.account_id,
            "accountName": a.name,
            "preferred": a.account_id == client.preferred_account_id,
            "accountType": "CFD",
            "currency": a.currency,
            "symbol": a.symbol,
            "balance": balance(sim.engine, a),
        }
        for a in client.accounts
    ]
    return {
        "accountType": "CFD",
        "accountInfo": balance(sim.engine, current),
        "currencyIsoCode": current.currency,
        "currencySymbol": current.symbol,
        "currentAccountId": current.account_id,
        "streamingHost": sim.streaming_host,
        "accounts": accounts,
        "clientId": client.client_id,
        "timezoneOffset": sim.config.timezone_offset_hours,
        "hasActiveDemoAccounts": True,
        "hasActiveLiveAccounts": False,
        "trailingStopsEnabled": True,
    }


@router.get("/session")
async def session_details(c: Caller = Depends(caller)) -> dict[str, Any]:
    return {
        "clientId": c.client.client_id,
        "accountId": c.account.account_id,
        "timezoneOffset": c.sim.config.timezone_offset_hours,
        "locale": "en",
        "currency": c.account.currency,
        "streamEndpoint": c.sim.streaming_host,
    }


@router.put("/session")
async def switch_account(request: Request, response: Response, c: Caller = Depends(caller)) -> dict[str, Any]:
    body = await json_body(request)
    account_id = body.get("accountId")
    if not isinstance(account_id, str):
        raise bad_request("error.invalid.accountId")
    c.sim.sessions.switch_account(c.session, account_id)
    c.sim.streams.drop_session(c.session)  # the stream "falls off" on an account switch
    response.headers["X-SECURITY-TOKEN"] = c.session.security_token
    return {
        "trailingStopsEnabled": True,
        "dealingEnabled": True,
        "hasActiveDemoAccounts": True,
        "hasActiveLiveAccounts": False,
    }


@router.delete("/session")
async def logout(c: Caller = Depends(caller)) -> dict[str, str]:
    c.sim.sessions.logout(c.session)
    c.sim.streams.drop_session(c.session)
    return {"status": "SUCCESS"}


@router.get("/ping")
async def ping(c: Caller = Depends(caller)) -> dict[str, str]:
    return {"status": "OK"}
