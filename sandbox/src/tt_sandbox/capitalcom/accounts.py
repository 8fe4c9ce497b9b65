"""Clients (one API key each), their financial accounts, and what each account holds.

Money is Decimal in the account currency. Positions, orders and history live on the account so
that `PUT /session` (switching account) changes what every trading call sees.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .instruments import DEFAULT_LEVERAGES

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CHF": "Fr", "AUD": "A$", "CAD": "C$"}


@dataclass
class Position:
    deal_id: str
    order_deal_id: str  # workingOrderId: the id of the order that opened it
    epic: str
    direction: str  # BUY | SELL
    size: Decimal
    level: Decimal
    created: datetime
    leverage: int
    currency: str
    stop_level: Decimal | None = None
    profit_level: Decimal | None = None
    trailing_stop: bool = False
    stop_distance: Decimal | None = None  # kept for trailing stops: the distance the stop trails at
    guaranteed_stop: bool = False


@dataclass
class WorkingOrder:
    deal_id: str
    epic: str
    direction: str
    size: Decimal
    level: Decimal
    order_type: str  # LIMIT | STOP
    created: datetime
    good_till: datetime | None
    leverage: int
    currency: str
    stop_level: Decimal | None = None
    profit_level: Decimal | None = None
    stop_distance: Decimal | None = None
    profit_distance: Decimal | None = None
    trailing_stop: bool = False
    guaranteed_stop: bool = False


@dataclass
class Activity:
    date: datetime
    epic: str
    deal_id: str
    source: str  # USER | SL | TP | SYSTEM | DEALER | CLOSE_OUT
    type: str  # POSITION | WORKING_ORDER | EDIT_STOP_AND_LIMIT | SWAP | SYSTEM
    status: str  # ACCEPTED | EXECUTED | REJECTED | MODIFIED | CANCELLED | EXPIRED ...
    details: dict[str, Any]


@dataclass
class Transaction:
    date: datetime
    type: str  # TRADE | SWAP | DEPOSIT | WITHDRAWAL | ...
    note: str
    reference: str
    amount: Decimal
    currency: str
    instrument_name: str | None = None


@dataclass
class Account:
    account_id: str
    name: str
    currency: str
    balance: Decimal
    hedging: bool = False
    leverages: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LEVERAGES))
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[str, WorkingOrder] = field(default_factory=dict)
    activities: list[Activity] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    confirms: dict[str, dict[str, Any]] = field(default_factory=dict)
    topups: list[datetime] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        return CURRENCY_SYMBOLS.get(self.currency, self.currency)


@dataclass
class Watchlist:
    watchlist_id: str
    name: str
    epics: list[str]


@dataclass
class Client:
    client_id: str
    identifier: str
    password: str
    api_key: str
    accounts: list[Account]
    preferred_account_id: str
    watchlists: dict[str, Watchlist] = field(default_factory=dict)

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.account_id == account_id), None)


@dataclass(frozen=True)
class AccountCredentials:
    """What a test or the demo needs to log in as a simulator user."""

    api_key: str
    identifier: str
    password: str
    account_id: str
    client_id: str


class Registry:
    """All clients, findable by API key and identifier; hands out venue-shaped ids."""

    def __init__(self) -> None:
        self.by_api_key: dict[str, Client] = {}
        self._ids = itertools.count(1)
        self._deal_counter = itertools.count(0x80560000)
        self._watchlist_ids = itertools.count(123456)

    def create_client(
        self,
        currency: str,
        balance: Decimal,
        hedging: bool,
        identifier: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        extra_currencies: tuple[str, ...] = (),
    ) -> Client:
        n = next(self._ids)
        api_key = api_key or secrets.token_hex(8).upper()
        if api_key in self.by_api_key:
            raise ValueError(f"API key {api_key} already exists")
        accounts = [Account(self._account_id(n, 0), currency, currency, Decimal(balance), hedging)]
        for i, extra in enumerate(extra_currencies, start=1):
            accounts.append(Account(self._account_id(n, i), extra, extra, Decimal(0), hedging))
        client = Client(
            client_id=f"{20000000 + n}",
            identifier=identifier or f"trader{n}@sandbox.invalid",
            password=password or secrets.token_urlsafe(12),
            api_key=api_key,
            accounts=accounts,
            preferred_account_id=accounts[0].account_id,
        )
        self.by_api_key[api_key] = client
        return client

    @staticmethod
    def _account_id(client_n: int, index: int) -> str:
        return f"{client_n:012d}{index:05d}"  # 17 digits like the venue's

    def new_deal_id(self) -> str:
        # Hex groups whose tail increments, like "006011e7-0001-54c4-0000-000080560043".
        return f"006011e7-0001-54c4-0000-{next(self._deal_counter):012x}"

    def new_watchlist_id(self) -> str:
        return str(next(self._watchlist_ids))
