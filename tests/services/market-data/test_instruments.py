"""Instrument universe from the simulator, search, watchlists — over the bus."""

from uuid import uuid4

import pytest

from tt_contracts import market_data as md
from tt_contracts.common import InstrumentRef
from tt_runtime.client import RemoteError, ask


async def test_sync_search_and_watchlists(market_data, client):
    async with market_data():
        synced = await ask(client, md.INSTRUMENTS_SYNC, md.SyncInstruments(), timeout=30)
        assert synced.instruments == 36 and synced.types["CURRENCIES"] == 10

        found = await ask(client, md.INSTRUMENTS_SEARCH, md.SearchInstruments(text="eurusd"))
        first = found.instruments[0]
        assert first.instrument.symbol == "EURUSD" and first.currency == "USD"
        assert first.dealing_rules and first.dealing_rules.min_deal_size is not None
        assert first.trading_hours and "mon" in first.trading_hours and first.status

        fx = await ask(
            client, md.INSTRUMENTS_SEARCH, md.SearchInstruments(instrument_type="currencies", limit=500)
        )
        assert len(fx.instruments) == 10 and all(i.instrument_type == "CURRENCIES" for i in fx.instruments)
        assert not (
            await ask(client, md.INSTRUMENTS_SEARCH, md.SearchInstruments(text="no such thing"))
        ).instruments

        user, other = uuid4(), uuid4()
        eur, gold = InstrumentRef(symbol="EURUSD"), InstrumentRef(symbol="GOLD")
        await ask(client, md.WATCHLIST_ADD, md.WatchlistChange(user_id=user, instrument=eur))
        await ask(client, md.WATCHLIST_ADD, md.WatchlistChange(user_id=user, instrument=gold))
        listed = await ask(client, md.WATCHLIST_ADD, md.WatchlistChange(user_id=user, instrument=eur))
        assert [i.instrument.symbol for i in listed.instruments] == ["EURUSD", "GOLD"]  # idempotent add
        after = await ask(client, md.WATCHLIST_REMOVE, md.WatchlistChange(user_id=user, instrument=eur))
        assert [i.instrument.symbol for i in after.instruments] == ["GOLD"]
        assert (await ask(client, md.WATCHLIST_GET, md.WatchlistGet(user_id=other))).instruments == []
        with pytest.raises(RemoteError) as err:
            await ask(
                client,
                md.WATCHLIST_ADD,
                md.WatchlistChange(user_id=user, instrument=InstrumentRef(symbol="NOPE")),
            )
        assert err.value.code == "not_found"
