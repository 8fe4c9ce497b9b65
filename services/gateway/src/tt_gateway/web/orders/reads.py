"""What the trading pages and API read from the broker and market-data, for one signed-in user.

Every call may fail (a service down, a responder not there yet): callers show the message of
``failure_text`` in place of the missing part, never a server error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import ValidationError

from tt_contracts import broker as c
from tt_contracts import market_data as md
from tt_contracts import registry
from tt_contracts.common import Side
from tt_runtime.client import RemoteError, ServiceUnavailable
from tt_runtime.service import ServiceRuntime

from ...deps import Principal
from ..forms import error_text

CALL_ERRORS = (RemoteError, ServiceUnavailable, ValidationError)
PAPER = "paper"
VENUE_TIMEOUT = 20.0  # connect and test open a venue session: slower than a query


def failure_text(exc: Exception) -> str:
    if isinstance(exc, RemoteError) and exc.code == "unavailable" and exc.detail.message:
        return exc.detail.message[:1].upper() + exc.detail.message[1:]
    return error_text(exc)


@dataclass(frozen=True)
class AccountChoice:
    """One account the user can trade on: the built-in paper broker or a connected account."""

    key: str  # "paper" or the account id, as in ?account=
    account_id: UUID | None
    label: str
    view: c.AccountView | None = None

    @property
    def is_paper(self) -> bool:
        return self.account_id is None


PAPER_CHOICE = AccountChoice(PAPER, None, "Paper broker (simulated money)")


def account_label(view: c.AccountView) -> str:
    name = view.label or ("Capital.com" if view.broker == "capitalcom" else view.broker)
    return f"{name} · {view.environment.value} · {view.currency}"


async def list_accounts(runtime: ServiceRuntime, user: Principal) -> list[c.AccountView]:
    reply = await runtime.ask(
        registry.ACCOUNTS_LIST, c.ListAccounts(producer="gateway", user_id=user.user_id)
    )
    assert isinstance(reply, c.AccountsReply)
    return reply.accounts


def choices_of(accounts: list[c.AccountView]) -> list[AccountChoice]:
    """Paper first, then the connected accounts that can trade."""
    active = [a for a in accounts if a.status == "active"]
    return [PAPER_CHOICE] + [
        AccountChoice(str(a.account_id), a.account_id, account_label(a), a) for a in active
    ]


def pick(choices: list[AccountChoice], key: str | None) -> AccountChoice | None:
    """The choice named by ``key``; without a key, the first connected account, else paper."""
    if not key:
        return choices[1] if len(choices) > 1 else choices[0]
    return next((ch for ch in choices if ch.key == key), None)


def parse_account(key: str | None) -> UUID | None:
    """``paper``/empty → None; else the account id. Raises ValueError for anything else."""
    if not key or key == PAPER:
        return None
    return UUID(key)


async def positions(
    runtime: ServiceRuntime, user: Principal, account_id: UUID | None
) -> list[c.PositionView]:
    reply = await runtime.ask(
        registry.POSITIONS_LIST,
        c.ListPositions(producer="gateway", user_id=user.user_id, account_id=account_id),
    )
    assert isinstance(reply, c.PositionsReply)
    # No account id asks for every account: keep only the paper broker's positions then.
    return [p for p in reply.positions if p.account_id == account_id]


async def working_orders(
    runtime: ServiceRuntime, user: Principal, account_id: UUID | None
) -> list[list[c.OrderView]]:
    """Working orders grouped: the two legs of an OCO pair together, each other order alone."""
    reply = await runtime.ask(
        registry.ORDERS_LIST, c.ListOrders(producer="gateway", user_id=user.user_id, account_id=account_id)
    )
    assert isinstance(reply, c.OrdersReply)
    groups: dict[object, list[c.OrderView]] = {}
    for order in reply.orders:
        if order.account_id == account_id:
            groups.setdefault(order.oco_group or order.order_id, []).append(order)
    return list(groups.values())


async def summary(runtime: ServiceRuntime, user: Principal, account_id: UUID) -> c.AccountSummaryReply:
    reply = await runtime.ask(
        registry.ACCOUNT_SUMMARY,
        c.GetAccountSummary(producer="gateway", user_id=user.user_id, account_id=account_id),
    )
    assert isinstance(reply, c.AccountSummaryReply)
    return reply


@dataclass(frozen=True)
class IntentFilters:
    account_id: UUID | None = None
    epic: str | None = None
    side: Side | None = None
    state: str | None = None
    intent_kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200


async def intents(runtime: ServiceRuntime, user: Principal, filters: IntentFilters) -> list[c.IntentView]:
    reply = await runtime.ask(
        registry.INTENTS_LIST,
        c.ListIntents(
            producer="gateway",
            user_id=user.user_id,
            account_id=filters.account_id,
            limit=filters.limit,
            epic=filters.epic,
            side=filters.side,
            state=filters.state,
            intent_kind=filters.intent_kind,
            since=filters.since,
            until=filters.until,
        ),
    )
    assert isinstance(reply, c.IntentsReply)
    return reply.intents


async def instrument(runtime: ServiceRuntime, symbol: str) -> md.InstrumentView | None:
    """The instrument with exactly this symbol (any case), or None when market-data does not know it."""
    reply = await runtime.ask(
        registry.INSTRUMENTS_SEARCH, md.SearchInstruments(producer="gateway", text=symbol, limit=20)
    )
    assert isinstance(reply, md.InstrumentsReply)
    return next((i for i in reply.instruments if i.instrument.symbol.lower() == symbol.lower()), None)


async def entry_price(runtime: ServiceRuntime, view: md.InstrumentView, side: Side) -> Decimal | None:
    """The price a market order would fill at now (ask to buy, bid to sell), when market-data has it."""
    try:
        quote = await runtime.ask(
            registry.QUOTE_LATEST, md.GetLatestQuote(producer="gateway", instrument=view.instrument)
        )
    except CALL_ERRORS:
        return None
    assert isinstance(quote, md.LatestQuoteReply)
    return quote.ask if side is Side.BUY else quote.bid
