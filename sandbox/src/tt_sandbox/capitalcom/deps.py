"""What every REST handler needs: the simulator, the authenticated session, a tolerant JSON body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from .accounts import Account, Client
from .errors import bad_request
from .sessions import Session

if TYPE_CHECKING:
    from .simulator import Simulator


async def simulator(request: Request) -> Simulator:
    # Async (on the event loop) like every route: the engine is single-threaded, and FastAPI would run a
    # plain function in its thread pool, concurrently with the market pump and other requests.
    sim: Simulator = request.app.state.simulator
    sim.sync()  # bring the market up to "now" before answering (real and accelerated clocks)
    return sim


@dataclass
class Caller:
    sim: Simulator
    session: Session

    @property
    def client(self) -> Client:
        return self.session.client

    @property
    def account(self) -> Account:
        account = self.client.account(self.session.account_id)
        assert account is not None  # switch_account only accepts accounts of this client
        return account


async def caller(request: Request, response: Response) -> Caller:
    """Checks CST / X-SECURITY-TOKEN, applies the per-user request limit, echoes the tokens back."""
    sim = await simulator(request)
    session = sim.sessions.authenticate(
        request.headers.get("CST"), request.headers.get("X-SECURITY-TOKEN"), sim.clock.now()
    )
    sim.limiter.request(session.client.client_id)
    response.headers["CST"] = session.cst
    response.headers["X-SECURITY-TOKEN"] = session.security_token
    return Caller(sim, session)


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a dict; an empty body (sloppy GET/DELETE clients) is an empty dict."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("error.invalid.request.body") from None
    if not isinstance(body, dict):
        raise bad_request("error.invalid.request.body")
    return body
