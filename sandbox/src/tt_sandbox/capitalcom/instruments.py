"""The instrument universe: real epics, currencies, dealing rules and trading hours.

Values are plausible early-2024 figures, not live data. Price levels anchor the price process at
ANCHOR_DAY; volatility and spread drive its character per instrument.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Trading-hour templates in UTC, in the venue's openingHours shape ("00:00" as an end = midnight).
_ROUND_THE_WEEK = {
    "mon": ["00:00 - 21:00", "22:00 - 00:00"],
    "tue": ["00:00 - 21:00", "22:00 - 00:00"],
    "wed": ["00:00 - 21:00", "22:00 - 00:00"],
    "thu": ["00:00 - 21:00", "22:00 - 00:00"],
    "fri": ["00:00 - 21:00"],
    "sat": [],
    "sun": ["22:00 - 00:00"],
}
_FX_HOURS = {
    "mon": ["00:00 - 21:00", "21:05 - 00:00"],
    "tue": ["00:00 - 21:00", "21:05 - 00:00"],
    "wed": ["00:00 - 21:00", "21:05 - 00:00"],
    "thu": ["00:00 - 21:00", "21:05 - 00:00"],
    "fri": ["00:00 - 21:00"],
    "sat": [],
    "sun": ["21:05 - 00:00"],
}
_EUROPE_CASH = {d: (["07:00 - 21:00"] if d not in ("sat", "sun") else []) for d in DAYS}
_ASIA_CASH = {d: (["00:00 - 06:30", "07:30 - 21:00"] if d not in ("sat", "sun") else []) for d in DAYS}
_US_SHARES = {d: (["13:30 - 20:00"] if d not in ("sat", "sun") else []) for d in DAYS}
_ALWAYS = {d: ["00:00 - 00:00"] for d in DAYS}


@dataclass(frozen=True)
class DistanceRule:
    unit: str  # "POINTS" (price units) or "PERCENTAGE" (of the current price)
    value: Decimal

    def to_price(self, price: Decimal) -> Decimal:
        return self.value if self.unit == "POINTS" else price * self.value / 100


@dataclass(frozen=True)
class Instrument:
    epic: str
    name: str
    type: str  # CURRENCIES | INDICES | COMMODITIES | CRYPTOCURRENCIES | SHARES
    currency: str
    price: Decimal  # mid level on ANCHOR_DAY
    decimals: int
    spread: Decimal
    annual_vol: float
    min_size: Decimal
    max_size: Decimal
    size_step: Decimal
    min_stop: DistanceRule
    max_stop: DistanceRule
    min_guaranteed_stop: DistanceRule
    hours: dict[str, list[str]]
    long_rate: Decimal  # overnight funding, percent per day of notional (negative = the client pays)
    short_rate: Decimal
    node: str
    country: str | None = None
    symbol: str | None = None
    trailing_stops: bool = True
    guaranteed_stop_allowed: bool = True

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)

    @property
    def instrument_id(self) -> int:
        return 10**16 + zlib.crc32(self.epic.encode()) * 1000

    @property
    def display_symbol(self) -> str:
        return self.symbol or self.epic

    def quantize(self, price: Decimal) -> Decimal:
        return price.quantize(self.tick)

    def open_segments(self, weekday: int) -> list[tuple[int, int]]:
        """Open minute ranges [start, end) of a weekday (0 = Monday), in minutes since midnight UTC."""
        segments = []
        for text in self.hours[DAYS[weekday]]:
            start_text, end_text = (part.strip() for part in text.split("-"))
            start, end = _minutes(start_text), _minutes(end_text)
            segments.append((start, end or 1440))
        return segments

    def is_open(self, when: datetime) -> bool:
        minute = when.hour * 60 + when.minute
        return any(start <= minute < end for start, end in self.open_segments(when.weekday()))


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _d(value: str | int | float) -> Decimal:
    return Decimal(str(value))


def _points(value: str) -> DistanceRule:
    return DistanceRule("POINTS", _d(value))


def _pct(value: str) -> DistanceRule:
    return DistanceRule("PERCENTAGE", _d(value))


def _fx(
    epic: str, name: str, price: str, decimals: int, spread: str, vol: float, long_rate: str
) -> Instrument:
    quote_ccy = epic[3:]
    pip = Decimal(1).scaleb(-(decimals - 1))
    return Instrument(
        epic=epic,
        name=name,
        type="CURRENCIES",
        currency=quote_ccy,
        price=_d(price),
        decimals=decimals,
        spread=_d(spread),
        annual_vol=vol,
        min_size=_d(100),
        max_size=_d(5_000_000),
        size_step=_d(1),
        min_stop=DistanceRule("POINTS", pip * 5),
        max_stop=_pct("50"),
        min_guaranteed_stop=DistanceRule("POINTS", pip * 20),
        hours=_FX_HOURS,
        long_rate=_d(long_rate),
        short_rate=(_d("-0.0025") - _d(long_rate) / 3).quantize(Decimal("0.0001")),
        node="hierarchy_v1.currencies.majors",
        symbol=f"{epic[:3]}/{epic[3:]}",
    )


def _index(epic, name, ccy, price, spread, vol, hours, country) -> Instrument:
    return Instrument(
        epic=epic,
        name=name,
        type="INDICES",
        currency=ccy,
        price=_d(price),
        decimals=1,
        spread=_d(spread),
        annual_vol=vol,
        min_size=_d("0.1"),
        max_size=_d(1000),
        size_step=_d("0.1"),
        min_stop=_pct("0.05"),
        max_stop=_pct("30"),
        min_guaranteed_stop=_pct("0.5"),
        hours=hours,
        long_rate=_d("-0.0223"),
        short_rate=_d("0.0013"),
        node="hierarchy_v1.indices.major",
        country=country,
    )


def _commodity(epic, name, price, decimals, spread, vol, min_size, step) -> Instrument:
    return Instrument(
        epic=epic,
        name=name,
        type="COMMODITIES",
        currency="USD",
        price=_d(price),
        decimals=decimals,
        spread=_d(spread),
        annual_vol=vol,
        min_size=_d(min_size),
        max_size=_d(min_size) * 10000,
        size_step=_d(step),
        min_stop=_pct("0.1"),
        max_stop=_pct("50"),
        min_guaranteed_stop=_pct("1"),
        hours=_ROUND_THE_WEEK,
        long_rate=_d("-0.0198"),
        short_rate=_d("-0.0021"),
        node="hierarchy_v1.commodities.metals_energy",
    )


def _crypto(epic, name, price, decimals, spread, vol, min_size, step) -> Instrument:
    return Instrument(
        epic=epic,
        name=name,
        type="CRYPTOCURRENCIES",
        currency="USD",
        price=_d(price),
        decimals=decimals,
        spread=_d(spread),
        annual_vol=vol,
        min_size=_d(min_size),
        max_size=_d(min_size) * 100000,
        size_step=_d(step),
        min_stop=_pct("0.5"),
        max_stop=_pct("75"),
        min_guaranteed_stop=_pct("5"),
        hours=_ALWAYS,
        long_rate=_d("-0.0616"),
        short_rate=_d("0.0137"),
        node="hierarchy_v1.cryptocurrencies.major",
        guaranteed_stop_allowed=False,
    )


def _share(epic, name, price, spread, vol) -> Instrument:
    return Instrument(
        epic=epic,
        name=name,
        type="SHARES",
        currency="USD",
        price=_d(price),
        decimals=2,
        spread=_d(spread),
        annual_vol=vol,
        min_size=_d(1),
        max_size=_d(20000),
        size_step=_d("0.1"),
        min_stop=_pct("0.1"),
        max_stop=_pct("100"),
        min_guaranteed_stop=_pct("5"),
        hours=_US_SHARES,
        long_rate=_d("-0.0234"),
        short_rate=_d("0.0012"),
        node="hierarchy_v1.shares.us",
        country="United States of America",
    )


UNIVERSE: tuple[Instrument, ...] = (
    _fx("EURUSD", "EUR/USD", "1.08500", 5, "0.00006", 0.07, "-0.0071"),
    _fx("GBPUSD", "GBP/USD", "1.26800", 5, "0.00009", 0.08, "-0.0065"),
    _fx("USDJPY", "USD/JPY", "150.100", 3, "0.009", 0.09, "0.0042"),
    _fx("USDCHF", "USD/CHF", "0.88300", 5, "0.00012", 0.07, "0.0038"),
    _fx("AUDUSD", "AUD/USD", "0.65300", 5, "0.00008", 0.10, "-0.0049"),
    _fx("USDCAD", "USD/CAD", "1.35500", 5, "0.00013", 0.06, "-0.0012"),
    _fx("NZDUSD", "NZD/USD", "0.61000", 5, "0.00014", 0.10, "-0.0041"),
    _fx("EURGBP", "EUR/GBP", "0.85600", 5, "0.00012", 0.05, "-0.0058"),
    _fx("EURJPY", "EUR/JPY", "162.800", 3, "0.017", 0.09, "0.0031"),
    _fx("GBPJPY", "GBP/JPY", "190.300", 3, "0.025", 0.10, "0.0029"),
    _index("US500", "US 500", "USD", "5130.0", "0.4", 0.15, _ROUND_THE_WEEK, "United States of America"),
    _index(
        "US100", "US Tech 100", "USD", "18200.0", "1.0", 0.20, _ROUND_THE_WEEK, "United States of America"
    ),
    _index(
        "US30",
        "US Wall Street 30",
        "USD",
        "38900.0",
        "2.4",
        0.14,
        _ROUND_THE_WEEK,
        "United States of America",
    ),
    _index("DE40", "Germany 40", "EUR", "17700.0", "1.4", 0.16, _EUROPE_CASH, "Germany"),
    _index("UK100", "UK 100", "GBP", "7650.0", "1.0", 0.13, _EUROPE_CASH, "United Kingdom"),
    _index("FR40", "France 40", "EUR", "7950.0", "1.2", 0.16, _EUROPE_CASH, "France"),
    _index("J225", "Japan 225", "JPY", "40000.0", "7.0", 0.20, _ASIA_CASH, "Japan"),
    _index("AU200", "Australia 200", "AUD", "7750.0", "1.0", 0.14, _ASIA_CASH, "Australia"),
    _index("HK50", "Hong Kong 50", "HKD", "16500.0", "6.0", 0.24, _ASIA_CASH, "Hong Kong"),
    _commodity("GOLD", "Gold", "2115.00", 2, "0.30", 0.14, "0.01", "0.01"),
    _commodity("SILVER", "Silver", "23.800", 3, "0.020", 0.25, "1", "1"),
    _commodity("OIL_CRUDE", "US Crude Oil", "79.00", 2, "0.03", 0.35, "1", "1"),
    _commodity("OIL_BRENT", "Brent Crude Oil", "83.00", 2, "0.03", 0.32, "1", "1"),
    _commodity("NATURALGAS", "Natural Gas", "1.9000", 4, "0.0050", 0.60, "100", "100"),
    _commodity("COPPER", "Copper", "3.8500", 4, "0.0030", 0.22, "100", "100"),
    _crypto("BTCUSD", "Bitcoin/USD", "65000.00", 2, "60.00", 0.60, "0.0001", "0.0001"),
    _crypto("ETHUSD", "Ethereum/USD", "3500.00", 2, "2.50", 0.70, "0.001", "0.001"),
    _crypto("XRPUSD", "Ripple/USD", "0.62000", 5, "0.00300", 0.80, "1", "1"),
    _crypto("SOLUSD", "Solana/USD", "130.000", 3, "0.300", 0.90, "0.01", "0.01"),
    _crypto("LTCUSD", "Litecoin/USD", "90.00", 2, "0.40", 0.75, "0.01", "0.01"),
    _share("AAPL", "Apple Inc", "175.00", "0.08", 0.28),
    _share("TSLA", "Tesla Inc", "190.00", "0.15", 0.55),
    _share("MSFT", "Microsoft Corporation", "410.00", "0.20", 0.26),
    _share("NVDA", "NVIDIA Corporation", "850.00", "0.60", 0.50),
    _share("AMZN", "Amazon.com Inc", "178.00", "0.10", 0.32),
    _share("META", "Meta Platforms Inc", "495.00", "0.30", 0.40),
)

BY_EPIC: dict[str, Instrument] = {instrument.epic: instrument for instrument in UNIVERSE}

# Leverage groups of GET /accounts/preferences, and the instrument types they govern.
LEVERAGE_CHOICES: dict[str, list[int]] = {
    "SHARES": [1, 2, 3, 5],
    "CURRENCIES": [1, 10, 20, 30],
    "INDICES": [1, 10, 20],
    "CRYPTOCURRENCIES": [1, 2],
    "COMMODITIES": [1, 5, 10, 20],
}
DEFAULT_LEVERAGES: dict[str, int] = {
    "SHARES": 5,
    "CURRENCIES": 30,
    "INDICES": 20,
    "CRYPTOCURRENCIES": 2,
    "COMMODITIES": 20,
}

# Market navigation: group node -> (display name, child node ids); leaves list epics by `node`.
NAVIGATION: dict[str, tuple[str, list[str]]] = {
    "hierarchy_v1.commons_group": (
        "commons_group",
        ["hierarchy_v1.commons.most_traded", "hierarchy_v1.commons.weekend_trading"],
    ),
    "hierarchy_v1.currencies_group": ("currencies_group", ["hierarchy_v1.currencies.majors"]),
    "hierarchy_v1.indices_group": ("indices_group", ["hierarchy_v1.indices.major"]),
    "hierarchy_v1.commodities_group": ("commodities_group", ["hierarchy_v1.commodities.metals_energy"]),
    "hierarchy_v1.cryptocurrencies_group": (
        "cryptocurrencies_group",
        ["hierarchy_v1.cryptocurrencies.major"],
    ),
    "hierarchy_v1.shares_group": ("shares_group", ["hierarchy_v1.shares.us"]),
}
LEAF_NAMES: dict[str, str] = {
    "hierarchy_v1.commons.most_traded": "Most Traded",
    "hierarchy_v1.commons.weekend_trading": "Weekend Trading",
    "hierarchy_v1.currencies.majors": "Majors",
    "hierarchy_v1.indices.major": "Major",
    "hierarchy_v1.commodities.metals_energy": "Metals and Energy",
    "hierarchy_v1.cryptocurrencies.major": "Major",
    "hierarchy_v1.shares.us": "US Shares",
}
MOST_TRADED = ("US100", "GOLD", "EURUSD", "BTCUSD", "OIL_CRUDE", "US500", "TSLA", "DE40")


def leaf_epics(node_id: str) -> list[str] | None:
    """Epics under a leaf node, or None when the node is not a leaf."""
    if node_id == "hierarchy_v1.commons.most_traded":
        return list(MOST_TRADED)
    if node_id == "hierarchy_v1.commons.weekend_trading":
        return [i.epic for i in UNIVERSE if i.type == "CRYPTOCURRENCIES"]
    if node_id in LEAF_NAMES:
        return [i.epic for i in UNIVERSE if i.node == node_id]
    return None
