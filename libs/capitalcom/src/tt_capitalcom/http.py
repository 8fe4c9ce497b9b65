"""Async REST client for the Capital.com API.

Owns one venue session (login, token rotation, keep-alive, re-login), paces every request through
client-side token buckets, and retries only what is safe to retry:

* reads and idempotent writes: transient failures are retried with exponential backoff;
* trade requests (POST/PUT/DELETE on positions and working orders) are never re-sent once they may
  have reached the venue: a timeout or 5xx after sending raises `AmbiguousOutcomeError`. The only
  re-sends are for requests the venue provably did not act on: a connection that never opened, and
  a 401 for expired tokens (after which we log in again once).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum, auto
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from .auth import SessionTokens, encrypt_password
from .config import CapitalComConfig
from .constants import (
    MAX_ACTIVITY_RANGE,
    MAX_MARKET_DETAILS_EPICS,
    MAX_PRICE_BARS,
    STREAMING_URL,
    Direction,
    Resolution,
    WorkingOrderType,
)
from .errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    CapitalComError,
    DealRejectedError,
    NotFoundError,
    SessionExpiredError,
    TransientError,
    classify_venue_error,
)
from .orders import Protection, position_body, working_order_body, working_order_update_body
from .parse import decode_json, encode_json, format_venue_time
from .ratelimit import Clock, Sleep, TokenBucket
from .schemas import (
    Account,
    AccountsResponse,
    ActivitiesResponse,
    Activity,
    CreatedSession,
    DealConfirmation,
    DealReference,
    EncryptionKey,
    HistoricalBar,
    MarketDetails,
    MarketDetailsResponse,
    MarketNavigation,
    MarketsResponse,
    MarketSummary,
    PositionEntry,
    PositionsResponse,
    Preferences,
    PricesResponse,
    ServerTime,
    SessionDetails,
    SwitchedAccount,
    Transaction,
    TransactionsResponse,
    WorkingOrderEntry,
    WorkingOrdersResponse,
)

logger = logging.getLogger(__name__)

_API_KEY_HEADER = "X-CAP-API-KEY"
_TOKEN_HEADERS = ("CST", "X-SECURITY-TOKEN")
# Confirms can answer these for a few hundred ms right after the trade request.
_CONFIRM_NOT_YET_CODES = frozenset({"error.not-found.dealReference", "error.invalid.dealReference"})


class RequestKind(Enum):
    READ = auto()  # GETs and idempotent writes: safe to retry
    TRADE = auto()  # may move money: never re-sent once it may have reached the venue
    LOGIN = auto()  # session creation: paced at 1/s per API key


SessionListener = Callable[[], None]


class CapitalComClient:
    """One Capital.com login. Use as `async with CapitalComClient(config) as client:`.

    The session is created lazily on the first authenticated call and kept alive in the background
    while the client is open. `add_session_listener` tells you when tokens change (re-login,
    account switch), which kills the venue's streaming subscriptions.
    """

    def __init__(
        self,
        config: CapitalComConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ):
        self._config = config
        self._clock = clock
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=config.resolved_rest_url,
            timeout=httpx.Timeout(config.request_timeout, connect=config.connect_timeout),
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._request_bucket = TokenBucket(config.request_limit, clock=clock, sleep=sleep)
        self._trade_bucket = TokenBucket(config.trade_limit, clock=clock, sleep=sleep)
        self._login_bucket = TokenBucket(config.session_limit, clock=clock, sleep=sleep)
        self._login_lock = asyncio.Lock()
        self._tokens: SessionTokens | None = None
        self._session: CreatedSession | None = None
        self._generation = 0
        self._logged_in_at = 0.0
        self._last_used = 0.0
        self._listeners: list[SessionListener] = []
        self._keepalive: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self.start_keepalive()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def start_keepalive(self) -> None:
        if self._keepalive is None or self._keepalive.done():
            self._keepalive = asyncio.create_task(self._keepalive_loop(), name="capitalcom-keepalive")

    async def aclose(self) -> None:
        """Stop the keep-alive and close connections. The venue session is left to expire."""
        if self._keepalive is not None:
            self._keepalive.cancel()
            await asyncio.gather(self._keepalive, return_exceptions=True)
            self._keepalive = None
        await self._http.aclose()

    def add_session_listener(self, listener: SessionListener) -> None:
        self._listeners.append(listener)

    def remove_session_listener(self, listener: SessionListener) -> None:
        self._listeners.remove(listener)

    @property
    def config(self) -> CapitalComConfig:
        return self._config

    @property
    def session(self) -> CreatedSession | None:
        """What the venue returned at the last login (accounts, streaming host, time zone)."""
        return self._session

    @property
    def streaming_url(self) -> str:
        """Configured WS URL, else the one the venue named at login, else the documented host."""
        if self._config.ws_url:
            return self._config.ws_url
        if self._session is not None and self._session.streaming_host:
            return self._session.streaming_host.rstrip("/") + "/connect"
        return STREAMING_URL

    async def session_tokens(self, *, refresh: bool = False) -> SessionTokens:
        """Current tokens, logging in if needed; `refresh=True` forces a new login."""
        if refresh:
            await self._relogin(self._generation)
        return await self._ensure_session()

    # --- session -----------------------------------------------------------------------------

    async def login(self) -> CreatedSession:
        async with self._login_lock:
            await self._login()
        assert self._session is not None
        return self._session

    async def logout(self) -> None:
        if self._tokens is None:
            return
        await self._call("DELETE", "session")
        self._tokens = None
        self._session = None

    async def get_session(self) -> SessionDetails:
        return SessionDetails.model_validate(await self._call("GET", "session"))

    async def switch_account(self, account_id: str) -> SwitchedAccount:
        """Make another financial account active. The venue drops streaming for the old one."""
        result = SwitchedAccount.model_validate(
            await self._call("PUT", "session", body={"accountId": account_id})
        )
        self._notify_listeners()
        return result

    async def ping(self) -> None:
        await self._call("GET", "ping")

    async def server_time(self) -> datetime:
        return ServerTime.model_validate(await self._call("GET", "time", authenticated=False)).server_time

    # --- accounts ----------------------------------------------------------------------------

    async def get_accounts(self) -> list[Account]:
        return AccountsResponse.model_validate(await self._call("GET", "accounts")).accounts

    async def get_preferences(self) -> Preferences:
        return Preferences.model_validate(await self._call("GET", "accounts/preferences"))

    async def update_preferences(
        self, *, leverages: Mapping[str, int] | None = None, hedging_mode: bool | None = None
    ) -> None:
        body: dict[str, Any] = {}
        if leverages is not None:
            body["leverages"] = dict(leverages)
        if hedging_mode is not None:
            body["hedgingMode"] = hedging_mode
        await self._call("PUT", "accounts/preferences", body=body)

    # --- markets -----------------------------------------------------------------------------

    async def search_markets(self, search_term: str) -> list[MarketSummary]:
        if not search_term.strip():
            raise ValueError("search_term must not be empty")
        data = await self._call("GET", "markets", params={"searchTerm": search_term})
        return MarketsResponse.model_validate(data).markets

    async def list_markets(self) -> list[MarketSummary]:
        """Every market the venue offers (a large response)."""
        return MarketsResponse.model_validate(await self._call("GET", "markets")).markets

    async def get_markets(self, epics: Iterable[str]) -> list[MarketDetails]:
        """Full details for many epics, in requests of at most 50 (the venue's cap)."""
        wanted = list(dict.fromkeys(epics))
        details: list[MarketDetails] = []
        for start in range(0, len(wanted), MAX_MARKET_DETAILS_EPICS):
            chunk = wanted[start : start + MAX_MARKET_DETAILS_EPICS]
            data = await self._call("GET", "markets", params={"epics": ",".join(chunk)})
            details.extend(MarketDetailsResponse.model_validate(data).market_details)
        return details

    async def get_market(self, epic: str) -> MarketDetails:
        return MarketDetails.model_validate(await self._call("GET", f"markets/{_segment(epic)}"))

    async def get_market_navigation(
        self, node_id: str | None = None, *, limit: int | None = None
    ) -> MarketNavigation:
        path = "marketnavigation" if node_id is None else f"marketnavigation/{_segment(node_id)}"
        params = {"limit": limit} if limit is not None else None
        return MarketNavigation.model_validate(await self._call("GET", path, params=params))

    # --- prices ------------------------------------------------------------------------------

    async def get_prices(
        self,
        epic: str,
        resolution: Resolution = Resolution.MINUTE,
        *,
        max_bars: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> PricesResponse:
        """One `/prices` call, oldest bar first. An empty window raises `NotFoundError`."""
        if max_bars is not None and not 1 <= max_bars <= MAX_PRICE_BARS:
            raise ValueError(f"max_bars must be between 1 and {MAX_PRICE_BARS}")
        params: dict[str, Any] = {"resolution": Resolution(resolution).value}
        if max_bars is not None:
            params["max"] = max_bars
        if start is not None:
            params["from"] = format_venue_time(start)
        if end is not None:
            params["to"] = format_venue_time(end)
        return PricesResponse.model_validate(
            await self._call("GET", f"prices/{_segment(epic)}", params=params)
        )

    async def iter_price_pages(
        self,
        epic: str,
        resolution: Resolution,
        start: datetime,
        end: datetime | None = None,
        *,
        page_size: int = MAX_PRICE_BARS,
    ) -> AsyncIterator[list[HistoricalBar]]:
        """Bars with open time in [start, end], page by page, oldest first.

        The venue rejects a from/to window that could hold more than `max` bars (bounds are
        inclusive, so a window spans at most (max - 1) resolutions) and a `to` in the future, so the
        range is walked in such windows; `end` defaults to the venue's clock. Windows without data
        (weekends, before the oldest bar) are skipped.
        """
        resolution = Resolution(resolution)
        if start.tzinfo is None or (end is not None and end.tzinfo is None):
            raise ValueError("pass timezone-aware datetimes; the venue's query times are UTC")
        if end is None:
            end = await self.server_time()
        span = resolution.duration * (page_size - 1)
        cursor = start
        while cursor <= end:
            window_end = min(cursor + span, end)
            try:
                response = await self.get_prices(
                    epic, resolution, max_bars=page_size, start=cursor, end=window_end
                )
            except NotFoundError as exc:
                if exc.error_code not in (None, "error.prices.not-found"):
                    raise
            else:
                page = [bar for bar in response.prices if cursor <= bar.snapshot_time_utc <= window_end]
                if page:
                    yield page
            # Query times have second precision and bounds are inclusive: step past the window.
            cursor = window_end + timedelta(seconds=1)

    async def get_price_history(
        self, epic: str, resolution: Resolution, start: datetime, end: datetime | None = None
    ) -> list[HistoricalBar]:
        return [bar async for page in self.iter_price_pages(epic, resolution, start, end) for bar in page]

    # --- positions ---------------------------------------------------------------------------

    async def get_positions(self) -> list[PositionEntry]:
        return PositionsResponse.model_validate(await self._call("GET", "positions")).positions

    async def get_position(self, deal_id: str) -> PositionEntry:
        return PositionEntry.model_validate(await self._call("GET", f"positions/{_segment(deal_id)}"))

    async def create_position(
        self, epic: str, direction: Direction, size: Decimal, *, protection: Protection | None = None
    ) -> str:
        """Send a market order; returns the deal reference. Success is only known from the confirm."""
        body = position_body(epic, direction, size, protection)
        data = await self._call("POST", "positions", body=body, kind=RequestKind.TRADE)
        return DealReference.model_validate(data).deal_reference

    async def update_position(self, deal_id: str, protection: Protection) -> str:
        """Replace the position's whole bracket set (omitted stops/limits are cleared)."""
        body = protection.to_body()
        data = await self._call("PUT", f"positions/{_segment(deal_id)}", body=body, kind=RequestKind.TRADE)
        return DealReference.model_validate(data).deal_reference

    async def close_position(self, deal_id: str) -> str:
        """Close the whole position (the venue has no partial close on this call)."""
        data = await self._call("DELETE", f"positions/{_segment(deal_id)}", kind=RequestKind.TRADE)
        return DealReference.model_validate(data).deal_reference

    # --- working orders ----------------------------------------------------------------------

    async def get_working_orders(self) -> list[WorkingOrderEntry]:
        return WorkingOrdersResponse.model_validate(await self._call("GET", "workingorders")).working_orders

    async def create_working_order(
        self,
        epic: str,
        direction: Direction,
        size: Decimal,
        level: Decimal,
        order_type: WorkingOrderType,
        *,
        good_till: datetime | None = None,
        protection: Protection | None = None,
    ) -> str:
        body = working_order_body(epic, direction, size, level, order_type, good_till, protection)
        data = await self._call("POST", "workingorders", body=body, kind=RequestKind.TRADE)
        return DealReference.model_validate(data).deal_reference

    async def update_working_order(
        self,
        deal_id: str,
        *,
        level: Decimal | None = None,
        good_till: datetime | None = None,
        protection: Protection | None = None,
    ) -> str:
        """Amend a working order; like positions, omitted bracket fields are reset by the venue."""
        body = working_order_update_body(level, good_till, protection)
        path = f"workingorders/{_segment(deal_id)}"
        return DealReference.model_validate(
            await self._call("PUT", path, body=body, kind=RequestKind.TRADE)
        ).deal_reference

    async def delete_working_order(self, deal_id: str) -> str:
        path = f"workingorders/{_segment(deal_id)}"
        return DealReference.model_validate(
            await self._call("DELETE", path, kind=RequestKind.TRADE)
        ).deal_reference

    # --- confirms ----------------------------------------------------------------------------

    async def get_confirm(self, deal_reference: str) -> DealConfirmation:
        return DealConfirmation.model_validate(
            await self._call("GET", f"confirms/{_segment(deal_reference)}")
        )

    async def await_confirm(self, deal_reference: str, *, max_wait: float | None = None) -> DealConfirmation:
        """Poll the confirm until the venue decides; the only reliable answer to "did it happen?".

        Raises `DealRejectedError` on `REJECTED`, and `AmbiguousOutcomeError` when no decision
        appears within the timeout (reconcile; do not re-send).
        """
        deadline = self._clock() + (max_wait if max_wait is not None else self._config.confirm_timeout)
        while True:
            confirmation = await self._try_confirm(deal_reference)
            if confirmation is not None and confirmation.accepted:
                return confirmation
            if confirmation is not None and confirmation.rejected:
                reason = confirmation.rejection_reason
                raise DealRejectedError(
                    f"deal {deal_reference} rejected: {reason}", confirmation=confirmation, reason=reason
                )
            if self._clock() >= deadline:
                raise AmbiguousOutcomeError(f"no decision for deal {deal_reference} before the timeout")
            await self._sleep(self._config.confirm_poll_interval)

    async def _try_confirm(self, deal_reference: str) -> DealConfirmation | None:
        try:
            return await self.get_confirm(deal_reference)
        except CapitalComError as exc:
            if exc.error_code in _CONFIRM_NOT_YET_CODES or isinstance(exc, NotFoundError | TransientError):
                return None
            raise

    # --- history -----------------------------------------------------------------------------

    async def get_activity(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        last_period: timedelta | None = None,
        detailed: bool = False,
        deal_id: str | None = None,
        fiql_filter: str | None = None,
    ) -> list[Activity]:
        """Activity history. A start/end range longer than the venue's 1-day cap is split."""
        params: dict[str, Any] = {}
        if detailed:
            params["detailed"] = "true"
        if deal_id is not None:
            params["dealId"] = deal_id
        if fiql_filter is not None:
            params["filter"] = fiql_filter
        if start is None or end is None:
            params.update(_range_params(start, end, last_period))
            return ActivitiesResponse.model_validate(
                await self._call("GET", "history/activity", params=params)
            ).activities
        activities: list[Activity] = []
        cursor = start
        while cursor <= end:
            window_end = min(cursor + MAX_ACTIVITY_RANGE, end)
            window = {**params, **_range_params(cursor, window_end, None)}
            data = await self._call("GET", "history/activity", params=window)
            activities.extend(ActivitiesResponse.model_validate(data).activities)
            cursor = window_end + timedelta(seconds=1)
        return activities

    async def get_transactions(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        last_period: timedelta | None = None,
        transaction_type: str | None = None,
    ) -> list[Transaction]:
        params = _range_params(start, end, last_period)
        if transaction_type is not None:
            params["type"] = transaction_type
        data = await self._call("GET", "history/transactions", params=params)
        return TransactionsResponse.model_validate(data).transactions

    # --- session machinery -------------------------------------------------------------------

    def _session_is_stale(self) -> bool:
        if self._tokens is None:
            return True
        now = self._clock()
        if now - self._last_used >= self._config.session_idle_timeout:
            return True
        max_age = self._config.session_max_age
        return max_age is not None and now - self._logged_in_at >= max_age

    async def _ensure_session(self) -> SessionTokens:
        if self._session_is_stale():
            async with self._login_lock:
                if self._session_is_stale():
                    await self._login()
        assert self._tokens is not None
        return self._tokens

    async def _relogin(self, stale_generation: int) -> None:
        """Log in again unless a concurrent caller already replaced the stale session."""
        async with self._login_lock:
            if self._generation == stale_generation:
                await self._login()

    async def _login(self) -> None:
        config = self._config
        api_key = {_API_KEY_HEADER: config.api_key.get_secret_value()}
        password = config.password.get_secret_value()
        if config.encrypted_password:
            key_data = await self._call(
                "GET", "session/encryptionKey", authenticated=False, kind=RequestKind.LOGIN, headers=api_key
            )
            key = EncryptionKey.model_validate(key_data)
            password = encrypt_password(password, key.encryption_key, key.time_stamp)
        body = {
            "identifier": config.identifier,
            "password": password,
            "encryptedPassword": config.encrypted_password,
        }
        response = await self._send(
            "POST", "session", body=body, authenticated=False, kind=RequestKind.LOGIN, headers=api_key
        )
        cst, security_token = (response.headers.get(name) for name in _TOKEN_HEADERS)
        if not cst or not security_token:
            raise AuthenticationError("POST session succeeded but returned no session tokens")
        self._tokens = SessionTokens(cst=cst, security_token=security_token)
        self._session = CreatedSession.model_validate(_decode(response))
        self._generation += 1
        self._logged_in_at = self._last_used = self._clock()
        logger.info("capital.com session created (generation %d)", self._generation)
        self._notify_listeners()

    def _notify_listeners(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                logger.exception("capital.com session listener failed")

    def _adopt_rotated_tokens(self, response: httpx.Response) -> None:
        cst, security_token = (response.headers.get(name) for name in _TOKEN_HEADERS)
        if self._tokens is not None and cst and security_token:
            # The venue echoes tokens on every response and may rotate them: adopt the latest.
            self._tokens = SessionTokens(cst=cst, security_token=security_token)

    async def maintain_session(self) -> None:
        """Renew the session if due: log in again near the hard age cap, ping when idle."""
        if self._tokens is None:
            return
        now = self._clock()
        max_age = self._config.session_max_age
        if max_age is not None and now - self._logged_in_at >= max_age:
            await self._relogin(self._generation)
        elif now - self._last_used >= self._config.keepalive_after:
            await self.ping()

    async def _keepalive_loop(self) -> None:
        while True:
            await self._sleep(self._config.keepalive_check_interval)
            try:
                await self.maintain_session()
            except CapitalComError as exc:
                # The next real call retries the login; the loop must survive outages.
                logger.warning("capital.com keep-alive failed: %s", exc)

    # --- transport ---------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        authenticated: bool = True,
        kind: RequestKind = RequestKind.READ,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        response = await self._send(
            method, path, params=params, body=body, authenticated=authenticated, kind=kind, headers=headers
        )
        return _decode(response)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        authenticated: bool = True,
        kind: RequestKind = RequestKind.READ,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        context = f"{method} {path}"
        content = encode_json(body) if body is not None else None
        attempt = 0
        relogged_in = False
        while True:
            request_headers = dict(headers or {})
            if content is not None:
                request_headers["Content-Type"] = "application/json"
            if authenticated:
                request_headers.update((await self._ensure_session()).as_headers())
            generation = self._generation
            await self._pace(kind, method, path)
            try:
                response = await self._http.request(
                    method, path, params=params, content=content, headers=request_headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left this process, so even a trade request may be re-sent.
                error: CapitalComError = TransientError(
                    f"{context} failed: could not connect ({type(exc).__name__})"
                )
            except httpx.TransportError as exc:
                if kind is RequestKind.TRADE:
                    raise AmbiguousOutcomeError(
                        f"{context} was sent but no response arrived ({type(exc).__name__}); reconcile"
                    ) from exc
                error = TransientError(f"{context} failed: {type(exc).__name__}")
            else:
                logger.debug("%s -> HTTP %d", context, response.status_code)
                if response.is_success:
                    if authenticated:
                        self._adopt_rotated_tokens(response)
                        self._last_used = self._clock()
                    return response
                error = _error_from_response(response, context, during_login=kind is RequestKind.LOGIN)
                if isinstance(error, SessionExpiredError) and authenticated:
                    if relogged_in:
                        raise AuthenticationError(
                            f"{context} refused the session right after a new login",
                            status_code=error.status_code,
                            error_code=error.error_code,
                        ) from error
                    # An expired-token 401 means the venue did nothing: safe to log in and re-send once.
                    await self._relogin(generation)
                    relogged_in = True
                    continue
                if kind is RequestKind.TRADE and response.status_code >= 500:
                    raise AmbiguousOutcomeError(
                        f"{context} got HTTP {response.status_code} after sending; reconcile",
                        status_code=response.status_code,
                        error_code=error.error_code,
                    ) from error
            if not self._may_retry(error, kind, attempt):
                raise error
            await self._sleep(self._backoff(attempt, error))
            attempt += 1

    def _may_retry(self, error: CapitalComError, kind: RequestKind, attempt: int) -> bool:
        if not isinstance(error, TransientError) or attempt >= self._config.max_retries:
            return False
        # Trade requests reach this point only when the venue provably did not act: a connection
        # that never opened. A 429/5xx answer to a trade is surfaced to the caller instead.
        return kind is not RequestKind.TRADE or error.status_code is None

    def _backoff(self, attempt: int, error: CapitalComError) -> float:
        config = self._config
        delay = min(config.backoff_max, config.backoff_initial * 2**attempt) * random.uniform(0.5, 1.0)
        retry_after = getattr(error, "retry_after", None)
        return max(delay, retry_after or 0.0)

    async def _pace(self, kind: RequestKind, method: str, path: str) -> None:
        await self._request_bucket.acquire()
        if kind is RequestKind.TRADE:
            await self._trade_bucket.acquire()
        elif kind is RequestKind.LOGIN and method == "POST" and path == "session":
            await self._login_bucket.acquire()


def _decode(response: httpx.Response) -> Any:
    return decode_json(response.content) if response.content else {}


def _error_from_response(response: httpx.Response, context: str, *, during_login: bool) -> CapitalComError:
    error_code: str | None = None
    try:
        data = decode_json(response.content) if response.content else None
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("errorCode") is not None:
        error_code = str(data["errorCode"])
    return classify_venue_error(
        response.status_code,
        error_code,
        context=context,
        during_login=during_login,
        retry_after=_retry_after_seconds(response),
    )


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _range_params(
    start: datetime | None, end: datetime | None, last_period: timedelta | None
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if start is not None:
        params["from"] = format_venue_time(start)
    if end is not None:
        params["to"] = format_venue_time(end)
    if last_period is not None and start is None and end is None:
        params["lastPeriod"] = int(last_period.total_seconds())
    return params


def _segment(value: str) -> str:
    """One URL path segment; epics and ids are venue data, never trusted to be URL-safe."""
    return quote(value, safe="")
