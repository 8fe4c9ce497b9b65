"""CSV upload over the bus: a report before import, all-or-nothing, provenance, owner-only reads."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import psycopg
import pytest

from tt_contracts import market_data as md
from tt_contracts.common import InstrumentRef
from tt_runtime.client import RemoteError, ask


def _file(n=50, broken=False):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        f"{(start + timedelta(hours=i)).isoformat()},1.1,1.2,1.0,{1.1 + 0.001 * (i % 3):.3f},5"
        for i in range(n)
    ]
    if broken:
        rows[40] = rows[40].replace("1.2,1.0", "0.9,1.0")  # high below low: the whole file is refused
    return ("time,open,high,low,close,volume\n" + "\n".join(rows)).encode()


async def test_upload_validate_then_import_all_or_nothing(market_data, client, database_url):
    user, other = uuid4(), uuid4()
    async with market_data():
        bad = md.UploadCsv(user_id=user, symbol="my-set", timeframe="1h", content=_file(broken=True))
        report = await ask(client, md.UPLOAD_IMPORT, bad)
        assert not report.ok and report.imported == 0 and report.issues[0].rows == [41]
        with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
            assert conn.execute("SELECT count(*) FROM market_data.candle").fetchone() == (0,)

        good = md.UploadCsv(user_id=user, symbol="my-set", timeframe="1h", content=_file())
        checked = await ask(client, md.UPLOAD_VALIDATE, good)
        assert checked.ok and checked.rows == 50 and checked.imported == 0
        done = await ask(client, md.UPLOAD_IMPORT, good)
        assert done.imported == 50 and done.instrument == InstrumentRef(venue="upload", symbol="my-set")
        with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
            assert conn.execute("SELECT DISTINCT source FROM market_data.candle").fetchall() == [("upload",)]

        mine = await ask(
            client, md.CANDLES_GET, md.GetCandles(instrument=done.instrument, timeframe="1h", user_id=user)
        )
        assert len(mine.close) == 50 and mine.spread == []
        with pytest.raises(RemoteError) as err:
            await ask(
                client,
                md.CANDLES_GET,
                md.GetCandles(instrument=done.instrument, timeframe="1h", user_id=other),
            )
        assert err.value.code == "not_found"
        with pytest.raises(RemoteError) as err:
            await ask(client, md.UPLOAD_IMPORT, good.model_copy(update={"user_id": other}))
        assert err.value.code == "conflict"


async def test_coverage_of_an_uploaded_data_set_is_its_owners_alone(market_data, client):
    user, other = uuid4(), uuid4()
    async with market_data():
        done = await ask(
            client,
            md.UPLOAD_IMPORT,
            md.UploadCsv(user_id=user, symbol="cov-set", timeframe="1h", content=_file()),
        )
        mine = await ask(client, md.COVERAGE_GET, md.GetCoverage(instrument=done.instrument, user_id=user))
        [hourly] = mine.timeframes
        assert hourly.timeframe == "1h" and hourly.bars == 50 and hourly.sources == {"upload": 50}
        with pytest.raises(RemoteError) as err:
            await ask(client, md.COVERAGE_GET, md.GetCoverage(instrument=done.instrument, user_id=other))
        assert err.value.code == "not_found"
