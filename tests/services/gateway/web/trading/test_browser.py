"""The trading journey in a real browser (Debian's chromium via Playwright) under the strict CSP:
connect the Capital.com sandbox account, place a market order with a stop-loss from the ticket, watch
the position arrive live with its protection, and close it. Screenshots land in
tests/artifacts/screenshots/."""

from __future__ import annotations

import re

from playwright.async_api import async_playwright, expect

from tt_runtime.testing.browser import launch, require_chromium, shot, watch_console

require_chromium()

PASSWORD = "correct horse battery staple"


async def test_connect_trade_protect_and_close_in_the_browser(trading_stack):
    email = "trader@example.com"
    async with trading_stack(browser=True) as stack, async_playwright() as p:
        creds = stack.sim.create_account(hedging=True)
        browser = await launch(p)
        try:
            context = await browser.new_context(viewport={"width": 1440, "height": 1100}, color_scheme="dark")
            page = await context.new_page()
            problems = watch_console(page)

            await stack.web.sign_up_in_browser(page, email, PASSWORD, "/brokers")

            await page.get_by_label(re.compile("identifier", re.I)).fill(creds.identifier)
            await page.get_by_label("API key", exact=True).fill(creds.api_key)
            await page.get_by_label("API key password").fill(creds.password)
            await page.get_by_role("button", name=re.compile("^Connect", re.I)).click()
            await expect(page.get_by_text("The account is connected.")).to_be_visible()
            await expect(page.get_by_text("Session active").first).to_be_visible()
            await shot(page, "30-brokers-connected")

            await page.goto(stack.url + "/orders")
            accounts = page.locator("select[name=account]").first
            await accounts.select_option(index=1)  # the paper broker comes first
            await page.get_by_role("button", name="Show").click()
            await expect(page.get_by_text("BALANCE", exact=False).first).to_be_visible()
            await page.get_by_label("Instrument").fill("EURUSD")
            await page.get_by_label("Size").fill("1000")
            await page.get_by_label("or stop-loss distance").fill("0.01")
            await page.get_by_role("button", name="Send order").click()

            positions = page.get_by_role("region", name="Open positions")
            await expect(positions.get_by_role("rowheader", name="EURUSD")).to_be_visible(timeout=15_000)
            await expect(positions.locator(".badge", has_text="native")).to_be_visible()
            await shot(page, "31-orders-position-protected")

            await positions.get_by_role("button", name="Close EURUSD position").click()
            await expect(positions.get_by_text("No open positions.")).to_be_visible(timeout=15_000)
            await shot(page, "32-orders-closed")
            assert problems == [], problems
        finally:
            await browser.close()
