"""``/markets/upload``: check a CSV file, see every defect by row, import on confirmation, all or
nothing; clear refusals for oversize, empty and non-CSV files."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import zlib
from datetime import UTC, datetime, timedelta

import httpx

from tt_contracts.market_data import UPLOAD_MAX_BYTES


def csv_file(n: int = 50) -> list[str]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        f"{(start + timedelta(hours=i)).isoformat()},1.1,1.2,1.0,{1.1 + 0.001 * (i % 3):.3f},5"
        for i in range(n)
    ]
    return ["time,open,high,low,close,volume", *rows]


def encode(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


async def check(http, csrf_of, content: bytes, name="ada-set", filename="bars.csv", content_type="text/csv"):
    page = await http.get("/markets/upload")
    return await http.post(
        "/markets/upload",
        data={"symbol": name, "timeframe": "1h", "csrf_token": csrf_of(page)},
        files={"file": (filename, content, content_type)},
    )


def hidden_fields(page: httpx.Response) -> dict[str, str]:
    form = re.search(r'<form method="post" action="/markets/upload/import".*?</form>', page.text, re.S).group(
        0
    )
    return {
        k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)
    }


async def test_good_file_is_checked_then_imported(markets_stack, csrf_of, page_rules):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        form = await http.get("/markets/upload")
        assert form.status_code == 200
        page_rules(form)
        assert f'data-max-bytes="{UPLOAD_MAX_BYTES}"' in form.text

        report = await check(http, csrf_of, encode(csv_file()))
        assert report.status_code == 200, report.text[-2000:]
        page_rules(report)
        assert "The file can be imported: 50 rows" in report.text
        confirm = hidden_fields(report)
        assert confirm["symbol"] == "ada-set" and confirm["timeframe"] == "1h"
        listed = await http.get("/api/v1/markets/upload/ada-set/candles", params={"timeframe": "1h"})
        assert listed.status_code == 404, "nothing is stored before the confirmation"

        imported = await http.post("/markets/upload/import", data=confirm)
        assert imported.status_code == 200, imported.text[-2000:]
        assert "Imported 50 bars into <strong>ada-set</strong>" in imported.text
        assert 'href="/markets/upload/ada-set?timeframe=1h"' in imported.text
        candles = await http.get(
            "/api/v1/markets/upload/ada-set/candles", params={"timeframe": "1h", "bars": 100}
        )
        assert candles.status_code == 200 and len(candles.json()["time"]) == 50
        chart_page = await http.get("/markets/upload/ada-set", params={"timeframe": "1h"})
        assert chart_page.status_code == 200 and "Your uploaded data set" in chart_page.text

        tampered = {**confirm, "content": base64.b64encode(zlib.compress(encode(csv_file(3)))).decode()}
        refused = await http.post("/markets/upload/import", data=tampered)
        assert refused.status_code == 422 and "did not come back intact" in refused.text


async def test_broken_file_reports_each_defect_and_imports_nothing(markets_stack, csrf_of):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        lines = csv_file()
        lines[41] = lines[41].replace("1.2,1.0", "0.9,1.0")  # row 41: high below low
        lines[11] = lines[10]  # row 11 repeats row 10's time
        lines[31] = lines[31].replace(",5", ",many")  # row 31: a volume that is not a number
        broken = encode(lines)
        report = await check(http, csrf_of, broken)
        assert report.status_code == 422
        issues = re.findall(
            r'<tr class="issue error">.*?<code>(\w+)</code>.*?<td class="mono small">([^<]*)</td>',
            report.text,
            re.S,
        )
        by_code = {code: rows for code, rows in issues}
        assert (
            by_code.get("ohlc") == "41" and by_code.get("duplicate") == "11" and by_code.get("value") == "31"
        ), issues
        assert "Nothing was imported" in report.text
        assert "/markets/upload/import" not in report.text, "no confirmation for a file with errors"

        # Even when sent for import, the file is refused whole.
        packed = base64.b64encode(zlib.compress(broken)).decode()
        page = await http.get("/markets/upload")
        forced = await http.post(
            "/markets/upload/import",
            data={
                "symbol": "ada-set",
                "timeframe": "1h",
                "content": packed,
                "sha256": hashlib.sha256(broken).hexdigest(),
                "csrf_token": csrf_of(page),
            },
        )
        assert forced.status_code == 422 and "Nothing was imported" in forced.text
        missing = await http.get("/api/v1/markets/upload/ada-set/candles", params={"timeframe": "1h"})
        assert missing.status_code == 404


async def test_oversize_empty_and_non_csv_files_are_refused_clearly(markets_stack, csrf_of):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        big = encode(csv_file()) + b"#" * UPLOAD_MAX_BYTES
        oversize = await check(http, csrf_of, big)
        assert oversize.status_code == 413 and "larger than 5 MB" in oversize.text
        empty = await check(http, csrf_of, b"")
        assert empty.status_code == 422 and "The file is empty." in empty.text
        image = await check(
            http, csrf_of, b"\x89PNG\r\n\x1a\n" + bytes(100), filename="chart.png", content_type="image/png"
        )
        assert image.status_code == 422 and "Choose a CSV file" in image.text
        binary = await check(http, csrf_of, b"time,open\x00\x01", filename="bars.csv")
        assert binary.status_code == 422 and "binary data" in binary.text
        bad_name = await check(http, csrf_of, encode(csv_file()), name="no spaces please")
        assert bad_name.status_code == 422 and "Use 1 to 64 letters" in bad_name.text
        assert 'aria-invalid="true"' in bad_name.text
