"""Subscriptions of the broker service: thin, parse → call the use case → return."""

from __future__ import annotations

from tt_contracts import broker as c
from tt_contracts.market_data import QUOTE_UPDATED, QuoteUpdated
from tt_runtime.bus import Handlers
from tt_runtime.db import UnitOfWork

from .service import BrokerService


def build_handlers(svc: BrokerService) -> Handlers:
    """The broker's subscriptions, bound to one service instance."""
    handlers = Handlers("broker")

    @handlers.respond(c.ACCOUNT_CONNECT, transactional=False)
    async def connect_account(request: c.ConnectAccount, _uow: None) -> c.AccountConnectedReply:
        return await svc.accounts.connect(request)

    @handlers.respond(c.ACCOUNT_DISCONNECT, transactional=False)
    async def disconnect_account(request: c.DisconnectAccount, _uow: None) -> c.AccountDisconnectedReply:
        return await svc.accounts.disconnect(request)

    @handlers.consume(c.ORDER_PLACE)
    async def place_order(cmd: c.PlaceOrder, uow: UnitOfWork) -> None:
        await svc.commands.place(cmd, uow)

    @handlers.consume(c.POSITION_CLOSE)
    async def close_position(cmd: c.ClosePosition, uow: UnitOfWork) -> None:
        await svc.commands.close(cmd, uow)

    @handlers.consume(c.ORDER_CANCEL)
    async def cancel_order(cmd: c.CancelOrder, uow: UnitOfWork) -> None:
        await svc.commands.cancel(cmd, uow)

    @handlers.stateless(QUOTE_UPDATED, batch_size=64)
    async def quote_updated(event: QuoteUpdated) -> None:
        svc.ctx.quotes.put(event.instrument.symbol, event.bid, event.ask, event.ts_event)
        svc.protection.on_quote(event.instrument.symbol, event.bid, event.ask)

    @handlers.respond(c.POSITIONS_LIST, transactional=False)
    async def list_positions(request: c.ListPositions, _uow: None) -> c.PositionsReply:
        return await svc.queries.positions(request)

    @handlers.respond(c.ACCOUNT_SUMMARY, transactional=False)
    async def account_summary(request: c.GetAccountSummary, _uow: None) -> c.AccountSummaryReply:
        return await svc.queries.summary(request)

    @handlers.respond(c.ACCOUNTS_LIST, transactional=False)
    async def list_accounts(request: c.ListAccounts, _uow: None) -> c.AccountsReply:
        return await svc.queries.accounts(request)

    @handlers.respond(c.ORDERS_LIST, transactional=False)
    async def list_orders(request: c.ListOrders, _uow: None) -> c.OrdersReply:
        return await svc.queries.orders(request)

    @handlers.respond(c.INTENTS_LIST, transactional=False)
    async def list_intents(request: c.ListIntents, _uow: None) -> c.IntentsReply:
        return await svc.queries.intents(request)

    @handlers.respond(c.ACCOUNT_TEST, transactional=False)
    async def check_account(request: c.TestAccount, _uow: None) -> c.AccountTestReply:
        return await svc.accounts.test(request)

    @handlers.respond(c.RISK_LIMITS_GET, transactional=False)
    async def get_risk_limits(request: c.GetRiskLimits, _uow: None) -> c.RiskLimitsReply:
        return await svc.risk.get(request)

    @handlers.respond(c.RISK_LIMITS_SET, transactional=False)
    async def set_risk_limits(request: c.SetRiskLimits, _uow: None) -> c.RiskLimitsReply:
        return await svc.risk.set(request)

    return handlers
