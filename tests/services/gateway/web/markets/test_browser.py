"""The markets pages in a real browser (Debian's chromium via Playwright) under the strict CSP:
watch an instrument, open its interactive chart, add an indicator, switch the timeframe, and see the
server-rendered chart load. Screenshots land in tests/artifacts/screenshots/."""

from __future__ import annotations

import re

from playwright.async_api import async_playwright, expect

from tt_runtime.testing.browser import launch, require_chromium, shot

require_chromium()

PASSWORD = "correct horse battery staple"


async def test_markets_journey_in_the_browser(markets_stack):
    email = "trader@example.com"
    async with markets_stack(charts=True, browser=True) as markets, async_playwright() as p:
        await markets.backfill("EURUSD", "1h", days=30)
        await markets.backfill("EURUSD", "4h", days=120)
        browser = await launch(p)
        try:
            context = await browser.new_context(
                viewport={"width": 1440, "height": 1000}, color_scheme="light"
            )
            page = await context.new_page()
            problems: list[str] = []  # CSP violations are reported as console errors
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            await markets.stack.sign_up_in_browser(page, email, PASSWORD, "/markets")
            await page.get_by_label("Name or symbol").fill("eur")
            await page.get_by_role("button", name="Search").click()
            await page.get_by_role("button", name="Watch EUR/USD").click()
            watchlist = page.get_by_role("region", name="Your watchlist")
            await expect(watchlist.get_by_role("link", name="EUR/USD")).to_be_visible()
            await expect(page.get_by_text("Live prices: connected.").first).to_be_visible()
            await shot(page, "20-markets-watchlist")

            await watchlist.get_by_role("link", name="EUR/USD").click()
            await expect(page.get_by_role("heading", level=1)).to_contain_text("EUR/USD")
            chart = page.locator("#price-chart")
            await expect(chart.locator("canvas").first).to_be_visible()
            await expect(page.get_by_text("Bid prices, 1h bars; the last bar updates live.")).to_be_visible()

            await page.get_by_label("Add indicator").select_option("RSI")
            await page.get_by_label("timeperiod").fill("10")
            await page.get_by_role("button", name="Add", exact=True).click()
            chosen = page.get_by_role("list", name="Indicators on the chart")
            await expect(chosen.get_by_text("RSI (timeperiod 10)")).to_be_visible()
            await expect(page).to_have_url(re.compile(r"indicators=RSI%3Atimeperiod%3D10"))
            await page.get_by_label("Add indicator").select_option("BBANDS")
            await page.get_by_role("button", name="Add", exact=True).click()
            await expect(chosen.get_by_text(re.compile(r"^BBANDS"))).to_be_visible()

            png = page.locator("[data-chart-png-img]")
            await expect(png).to_have_attribute("src", re.compile(r"indicators=RSI.*BBANDS.*theme=light"))
            await page.wait_for_function(
                "img => img.complete && img.naturalWidth === 960",
                arg=await png.element_handle(),
                timeout=30000,
            )
            await expect(page.get_by_text("Bid prices, 1h bars; the last bar updates live.")).to_be_visible()
            await shot(page, "21-instrument-chart")

            await page.get_by_role("navigation", name="Timeframe").get_by_role("link", name="4h").click()
            await expect(page).to_have_url(re.compile(r"timeframe=4h"))
            await expect(page.get_by_text("Bid prices, 4h bars; the last bar updates live.")).to_be_visible()
            await page.get_by_role("button", name="Remove RSI").click()
            await expect(chosen.get_by_text("RSI (timeperiod 10)")).to_have_count(0)
            await page.get_by_role("button", name=re.compile("Switch to dark theme")).click()
            await expect(png).to_have_attribute("src", re.compile(r"timeframe=4h.*theme=dark"))
            await page.wait_for_function(
                "img => img.complete && img.naturalWidth === 960",
                arg=await png.element_handle(),
                timeout=30000,
            )
            await shot(page, "22-instrument-chart-dark-4h")

            await page.goto(markets.url + "/markets/upload")
            await expect(page.get_by_label("CSV file", exact=True)).to_be_visible()
            await shot(page, "23-upload")
            assert not problems, problems
        finally:
            await browser.close()
