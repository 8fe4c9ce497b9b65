"""What the use cases share: the runtime, settings, key ring, adapter pool and quote book."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import SecretStr
from sqlalchemy import update

from tt_contracts.common import InstrumentRef
from tt_contracts.market_data import QUOTE_LATEST, GetLatestQuote
from tt_runtime.service import ServiceRuntime

from ..adapters.base import BrokerAdapter, VenueTransient
from ..adapters.capitalcom import CapitalComAdapter
from ..adapters.paper import PaperAdapter
from ..crypto import CredentialContext, KeyRing, Sealed
from ..models import credential
from ..repository import PAPER, account_by_id, credential_for
from ..settings import Settings


@dataclass(frozen=True, repr=False)
class Secrets:
    identifier: str
    api_key: SecretStr
    password: SecretStr

    def __repr__(self) -> str:
        return "Secrets(***)"

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "identifier": self.identifier,
                "api_key": self.api_key.get_secret_value(),
                "password": self.password.get_secret_value(),
            }
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Secrets:
        raw = json.loads(data)
        return cls(raw["identifier"], SecretStr(raw["api_key"]), SecretStr(raw["password"]))


def sealed_from_row(row: Any) -> Sealed:
    return Sealed(row.kek_id, row.wdek_nonce, row.wdek, row.ct_nonce, row.ct, row.format_version)


class QuoteBook:
    """Latest quotes from the quote stream, else asked of market-data (``quote.latest``)."""

    def __init__(self, runtime: ServiceRuntime, max_age: float) -> None:
        self.runtime = runtime
        self.max_age = max_age
        self._quotes: dict[str, tuple[float, Decimal, Decimal]] = {}
        self._venue_time: dict[str, datetime] = {}

    def put(self, epic: str, bid: Decimal, ask: Decimal, at: datetime | None = None) -> None:
        """Keep the newest quote; ``at`` (venue time) refuses a redelivered older one."""
        if at is not None:
            if epic in self._venue_time and at < self._venue_time[epic]:
                return
            self._venue_time[epic] = at
        self._quotes[epic] = (time.monotonic(), bid, ask)

    async def get(self, epic: str) -> tuple[Decimal, Decimal]:
        cached = self._quotes.get(epic)
        if cached and time.monotonic() - cached[0] <= self.max_age:
            return cached[1], cached[2]
        try:
            reply = await self.runtime.ask(
                QUOTE_LATEST, GetLatestQuote(instrument=InstrumentRef(symbol=epic))
            )
        except Exception as exc:
            raise VenueTransient(f"no quote for {epic}: {type(exc).__name__}", code="no_quote") from None
        self.put(epic, reply.bid, reply.ask)  # type: ignore[attr-defined]
        return reply.bid, reply.ask  # type: ignore[attr-defined]


AdapterWrapper = Callable[[BrokerAdapter], BrokerAdapter]


class Context:
    def __init__(self, runtime: ServiceRuntime, settings: Settings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.keyring = KeyRing(settings.keks(), settings.broker_active_kek)
        self.quotes = QuoteBook(runtime, settings.quote_max_age_seconds)
        self.instance = f"{runtime.instance}-{uuid.uuid4().hex[:8]}"
        self._adapters: dict[str, BrokerAdapter] = {}
        # Epics with paper positions whose stop / target this service enforces on quotes.
        self.emulated_epics: set[str] = set()
        # Tests wrap adapters to inject faults (e.g. a crash right after a trade request).
        self.adapter_wrapper: AdapterWrapper | None = None

    def capitalcom_adapter(self, secrets: Secrets, environment: str) -> CapitalComAdapter:
        s = self.settings
        return CapitalComAdapter(
            identifier=secrets.identifier,
            api_key=secrets.api_key,
            password=secrets.password,
            environment=environment,
            rest_url=s.capitalcom_base_url,
            request_timeout=s.capitalcom_request_timeout,
            confirm_timeout=s.capitalcom_confirm_timeout,
            encrypted_password=s.capitalcom_encrypted_password,
        )

    def remember(self, key: str, adapter: BrokerAdapter) -> None:
        self._adapters[key] = self.adapter_wrapper(adapter) if self.adapter_wrapper else adapter

    async def adapter(self, key: str, user_id: UUID, account_id: UUID | None) -> BrokerAdapter:
        """The adapter of an account; credentials are decrypted just in time, in memory only."""
        if key in self._adapters:
            return self._adapters[key]
        if account_id is None:
            s = self.settings
            adapter: BrokerAdapter = PaperAdapter(
                self.runtime.db.engine,
                user_id,
                self.quotes.get,
                currency=s.paper_currency,
                start_balance=s.paper_start_balance,
                leverage=s.paper_leverage,
            )
        else:
            secrets, environment = await self.load_secrets(account_id)
            adapter = self.capitalcom_adapter(secrets, environment)
        self.remember(key, adapter)
        return self._adapters[key]

    async def load_secrets(self, account_id: UUID) -> tuple[Secrets, str]:
        async with self.runtime.db.engine.begin() as conn:
            acct = await account_by_id(conn, account_id)
            row = await credential_for(conn, account_id)
            if acct is None or row is None or acct.status != "active":
                raise LookupError("account has no stored credentials")
            ctx = CredentialContext(acct.user_id, row.id, row.broker, row.format_version)
            secrets = Secrets.from_bytes(self.keyring.open(sealed_from_row(row), ctx))
            await conn.execute(
                update(credential).where(credential.c.id == row.id).values(last_used_at=datetime.now(UTC))
            )
        return secrets, acct.environment

    async def forget(self, key: str) -> None:
        adapter = self._adapters.pop(key, None)
        if adapter is not None:
            await adapter.aclose()

    async def close(self) -> None:
        for key in list(self._adapters):
            await self.forget(key)

    def adapter_keys(self) -> list[str]:
        return [k for k in self._adapters if not k.startswith(PAPER)]
