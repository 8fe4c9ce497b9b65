"""Settings of the market-data service (environment variables; see tt_runtime.settings)."""

from pydantic import SecretStr, model_validator

from tt_runtime.settings import PlaceholderSecretError, RuntimeSettings

# The simulator's seeded demo user (see the sandbox README): fine for development and tests only.
DEMO_API_KEY = "DEMO-API-KEY-USD"
DEMO_IDENTIFIER = "demo@trade-tracker.local"
DEMO_PASSWORD = "demo-password"


class Settings(RuntimeSettings):
    service_name: str = "market-data"
    service_port: int = 8103

    # The venue login market data is read with (demo mode: the simulator started by `make run`).
    capitalcom_base_url: str = "http://127.0.0.1:8201/api/v1"
    capitalcom_ws_url: str = "ws://127.0.0.1:8201/connect"
    capitalcom_api_key: SecretStr = SecretStr(DEMO_API_KEY)
    capitalcom_identifier: str = DEMO_IDENTIFIER
    capitalcom_password: SecretStr = SecretStr(DEMO_PASSWORD)
    capitalcom_environment: str = "demo"
    capitalcom_request_rate: float = 7.0  # requests/s, under the venue's 10/s

    # Live quotes → candles. None: on, except in the test environment (tests turn it on themselves).
    live_enabled: bool | None = None
    live_epics: list[str] = ["EURUSD", "GBPUSD", "US500", "GOLD", "BTCUSD"]
    live_include_watchlists: bool = True
    live_lease: bool = (
        True  # one replica streams a given instrument set (advisory lock); not needed for correctness
    )
    live_lease_retry_seconds: float = 5.0
    live_flush_seconds: float = 1.0
    live_publish_quotes: bool = True
    sync_instruments_on_start: bool = True
    # Once the live feed holds its lease: recent history of the streamed instruments, days per timeframe
    # (resumable, so a restart fetches only what is missing). None: on, except in the test environment.
    warmup_enabled: bool | None = None
    warmup_backfill_days: dict[str, float] = {
        "1m": 2,
        "5m": 7,
        "15m": 14,
        "30m": 30,
        "1h": 60,
        "4h": 180,
        "1d": 730,
        "1w": 3650,
    }

    indicator_cache_size: int = 512  # entries of the in-process LRU
    reply_cache_bars: int = 50_000  # bars held by cached candle replies (about 1 KB each with indicators)
    read_connections: int = 4  # autocommit connections for pure reads (candles, coverage)
    instrument_cache_seconds: float = 60.0  # how long another replica's catalogue sync may go unseen

    @property
    def warmup_on(self) -> bool:
        on = self.warmup_enabled if self.warmup_enabled is not None else self.environment != "test"
        return on and bool(self.warmup_backfill_days)

    @property
    def live_on(self) -> bool:
        return self.live_enabled if self.live_enabled is not None else self.environment != "test"

    @model_validator(mode="after")
    def _refuse_demo_login(self) -> "Settings":
        if self.environment == "development" or self.environment == "test":
            return self
        if self.capitalcom_api_key.get_secret_value() == DEMO_API_KEY or (
            self.capitalcom_password.get_secret_value() == DEMO_PASSWORD
        ):
            raise PlaceholderSecretError(
                f"CAPITALCOM_API_KEY/CAPITALCOM_PASSWORD are the demo placeholders; set real ones for "
                f"environment {self.environment!r}"
            )
        return self
