"""``/markets``: search by text and type, the watchlist as plain forms, initial quotes, page rules."""

from __future__ import annotations

import re

import httpx


def rows(page: httpx.Response, heading: str) -> list[str]:
    """The row headers' text of the table in the section titled ``heading``."""
    section = page.text.split(f">{heading}")[1].split("</section>")[0]
    return re.findall(r'<th scope="row"><a href="/markets/capitalcom/(\w+)"', section)


def symbols_in_results(page: httpx.Response) -> list[str]:
    section = page.text.split(">Find instruments")[1].split("</section>")[0]
    return re.findall(r'<td class="mono">([\w-]+)</td>', section)


async def test_search_filters_by_text_and_type(markets_stack, page_rules):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        everything = await http.get("/markets")
        assert everything.status_code == 200
        page_rules(everything)
        assert "Your watchlist is empty" in everything.text
        assert len(symbols_in_results(everything)) == 36, "the whole synced catalogue fits one page"

        eur = await http.get("/markets", params={"q": "eurusd"})
        assert symbols_in_results(eur)[0] == "EURUSD"
        assert "EUR/USD" in eur.text and "USD" in eur.text

        shares = await http.get("/markets", params={"type": "SHARES"})
        found = symbols_in_results(shares)
        assert "AAPL" in found and "EURUSD" not in found
        assert all(
            ">Shares<" in row
            for row in re.findall(r"<tr>.*?</tr>", shares.text.split("Find instruments")[1], re.S)[1:]
        )
        assert '<option value="SHARES" selected>' in shares.text

        nothing = await http.get("/markets", params={"q": "no such thing"})
        assert symbols_in_results(nothing) == [] and "No instruments match" in nothing.text


async def test_watchlist_add_and_remove_with_plain_forms(markets_stack, csrf_of):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        page = await http.get("/markets", params={"q": "gold"})
        for symbol in ("EURUSD", "GOLD"):
            added = await http.post(
                "/markets/watchlist",
                data={
                    "venue": "capitalcom",
                    "symbol": symbol,
                    "action": "add",
                    "next": "/markets?q=gold",
                    "csrf_token": csrf_of(page),
                },
            )
            assert added.status_code == 303 and added.headers["location"] == "/markets?q=gold&saved=added"
        listed = await http.get("/markets?q=gold&saved=added")
        assert rows(listed, "Your watchlist") == ["EURUSD", "GOLD"]
        assert "Added to your watchlist." in listed.text
        watch_section = listed.text.split(">Your watchlist")[1].split("</section>")[0]
        assert 'aria-live="polite"' in watch_section and watch_section.count('value="remove"') == 2
        assert 'data-live-quotes="capitalcom:EURUSD,capitalcom:GOLD' in listed.text

        removed = await http.post(
            "/markets/watchlist",
            data={"venue": "capitalcom", "symbol": "EURUSD", "action": "remove", "csrf_token": csrf_of(page)},
        )
        assert removed.status_code == 303
        assert rows(await http.get("/markets"), "Your watchlist") == ["GOLD"]

        unknown = await http.post(
            "/markets/watchlist",
            data={"venue": "capitalcom", "symbol": "NOPE", "action": "add", "csrf_token": csrf_of(page)},
        )
        assert unknown.status_code == 422 and "No such instrument." in unknown.text

        # The same watchlist through the JSON API (cookie session: the CSRF header is required).
        api = await http.get("/api/v1/markets/watchlist")
        assert [i["instrument"]["symbol"] for i in api.json()["instruments"]] == ["GOLD"]
        put = await http.put(
            "/api/v1/markets/watchlist/capitalcom/US500", headers={"X-CSRF-Token": csrf_of(page)}
        )
        assert put.status_code == 200
        assert [i["instrument"]["symbol"] for i in put.json()["instruments"]] == ["GOLD", "US500"]
        gone = await http.delete(
            "/api/v1/markets/watchlist/capitalcom/GOLD", headers={"X-CSRF-Token": csrf_of(page)}
        )
        assert [i["instrument"]["symbol"] for i in gone.json()["instruments"]] == ["US500"]


async def test_quotes_are_served_on_page_load(markets_stack):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        await markets.backfill("EURUSD", "1m", days=1)
        page = await http.get("/markets", params={"q": "eurusd"})
        bid = re.search(r'data-quote="capitalcom:EURUSD" data-side="bid">([^<]+)<', page.text).group(1)
        quote = (await http.get("/api/v1/markets/capitalcom/EURUSD/quote")).json()
        assert bid == quote["bid"] and bid != "–", "the newest stored bar stands in for a live quote"
        assert (await http.get("/markets")).status_code == 200
        anonymous = await markets.client().get("/markets")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/sign-in")
