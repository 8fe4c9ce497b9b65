"""The UI in a real browser (Debian's chromium via Playwright): the demo journey from sign-up through
the mailbox, verification, sign-in and onboarding to the dashboard and sign-out, with htmx and SSE
running under the strict CSP. Screenshots land in tests/artifacts/screenshots/."""

from __future__ import annotations

import re

from playwright.async_api import async_playwright, expect

from tt_runtime.testing.browser import launch, require_chromium, shot, watch_console

require_chromium()

PASSWORD = "correct horse battery staple"


async def test_demo_journey_in_the_browser(web_stack):
    email = "demo@example.com"
    async with web_stack(browser=True, status_stream_interval_seconds=0.5) as stack, async_playwright() as p:
        browser = await launch(p)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light")
            page = await context.new_page()
            problems = watch_console(page)

            await page.goto(stack.url + "/")
            await expect(
                page.get_by_role("heading", name="Trading automation you can see through.")
            ).to_be_visible()
            await shot(page, "01-landing")

            # keyboard: the first Tab reaches the skip link
            await page.keyboard.press("Tab")
            await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

            await page.get_by_role("link", name="Create account").first.click()
            await page.get_by_label("Your name").fill("Demo User")
            await page.get_by_label("Email").fill(email)
            await page.get_by_label("Password", exact=True).fill(PASSWORD)
            await page.get_by_label("Repeat the password").fill(PASSWORD + "typo")
            await page.get_by_role("button", name="Create account").click()
            await expect(page.get_by_text("The two passwords do not match.")).to_be_visible()
            await shot(page, "02-sign-up-error")
            await page.get_by_label("Password", exact=True).fill(PASSWORD)
            await page.get_by_label("Repeat the password").fill(PASSWORD)
            await page.get_by_role("button", name="Create account").click()
            await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

            await stack.link_in_mail(email, "/verify-email")  # the mail has arrived
            await page.get_by_role("link", name="Open the mailbox").click()
            await expect(page.get_by_text(email).first).to_be_visible()
            await shot(page, "03-mailbox")
            await page.get_by_role("link", name=re.compile("Open link")).first.click()
            await expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()

            await page.get_by_role("link", name="Sign in").last.click()
            await expect(page.get_by_text("Your email is confirmed")).to_be_visible()
            await page.get_by_label("Email").fill(email)
            await page.get_by_label("Password").fill(PASSWORD)
            await shot(page, "04-sign-in")
            await page.get_by_role("button", name="Sign in", exact=True).click()

            await expect(page).to_have_url(re.compile(r"/onboarding/profile$"))
            await page.get_by_label("Timezone").select_option("Europe/Zurich")
            await page.get_by_label("Risk per trade (% of balance)").fill("0.5")
            await shot(page, "05-onboarding-profile")
            await page.get_by_role("button", name="Save and continue").click()
            for step in ("broker", "credits", "bot"):
                await expect(page).to_have_url(re.compile(rf"/onboarding/{step}$"))
                if step == "broker":
                    await expect(page.get_by_label("API key", exact=True)).to_be_visible()
                    await shot(page, "06-onboarding-broker")
                else:
                    await expect(page.get_by_text("Coming next")).to_be_visible()
                await page.get_by_role("button", name="Skip for now").click()

            await expect(page).to_have_url(re.compile(r"/dashboard\?welcome=1$"))
            await expect(page.get_by_role("heading", name="Welcome, Demo User")).to_be_visible()
            # htmx's SSE extension replaces the status fragment: the timestamp changes under the CSP
            stamp = page.locator("#status-live .small").last
            first = await stamp.text_content()
            await expect(stamp).not_to_have_text(first or "", timeout=5000)
            await shot(page, "07-dashboard-light")

            await page.get_by_role("button", name=re.compile("Switch to dark theme")).click()
            await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
            await page.reload()
            await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
            await shot(page, "08-dashboard-dark")

            nav = page.get_by_role("navigation", name="Main")
            await nav.get_by_role("link", name="Bots").click()
            await expect(page.get_by_text("arrives with the strategy issue")).to_be_visible()
            await nav.get_by_role("link", name="Settings").click()
            await page.get_by_role("link", name="Security").click()
            await expect(page.get_by_text("this device")).to_be_visible()
            await shot(page, "09-settings-security")

            mobile = await browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
            phone = await mobile.new_page()
            await phone.goto(stack.url + "/sign-in")
            await shot(phone, "10-sign-in-mobile-dark")
            await mobile.close()

            await page.get_by_role("button", name="Sign out", exact=True).click()
            await expect(page).to_have_url(stack.url + "/")
            await page.goto(stack.url + "/dashboard")
            await expect(page).to_have_url(re.compile(r"/sign-in\?next="))

            # the sign-up form answered its inline error with 422 on purpose
            real = [m for m in problems if "favicon" not in m and "status of 422" not in m]
            assert not real, real
        finally:
            await browser.close()


async def test_google_sign_in_in_the_browser(web_stack):
    """Sign in with Google against a local OpenID provider: gateway start → provider consent → gateway
    callback → identity exchanges the code (PKCE, nonce) → signed in on the dashboard."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import oidc_provider_mock

    grace = oidc_provider_mock.User(
        sub="g-grace", claims={"email": "grace@example.com", "email_verified": True, "name": "Grace Hopper"}
    )
    with oidc_provider_mock.run_server_in_thread(port=0, require_nonce=True, user_claims=[grace]) as server:
        provider = f"http://127.0.0.1:{server.server_port}"
        google = {
            "discovery_url": f"{provider}/.well-known/openid-configuration",
            "client_id": "trade-tracker-test",
            "client_secret": "test-secret",
        }
        async with (
            web_stack(browser=True, identity_overrides={"oidc_providers": {"google": google}}) as stack,
            async_playwright() as p,
        ):
            browser = await launch(p)
            try:
                page = await browser.new_page()
                ours: list[str] = []  # the provider's own page is not ours to judge
                page.on(
                    "console",
                    lambda m: (
                        ours.append(m.text)
                        if m.type == "error" and m.location.get("url", "").startswith(stack.url)
                        else None
                    ),
                )
                await page.goto(stack.url + "/sign-in")
                await page.get_by_role("link", name=re.compile("Google")).first.click()
                await page.wait_for_url(re.compile(rf"^{re.escape(provider)}/"))
                await page.locator("input[name=sub]").fill("g-grace")
                await page.get_by_role("button", name="Authorize").click()
                await page.wait_for_url(re.compile(rf"^{re.escape(stack.url)}/(dashboard|onboarding)"))
                await expect(page.get_by_text("grace@example.com").first).to_be_visible()
                await shot(page, "11-google-sign-in")
                cookies = {c["name"]: c for c in await page.context.cookies()}
                assert cookies["__Host-tt_access"]["httpOnly"] and cookies["__Host-tt_access"]["secure"]
                assert not ours, ours
            finally:
                await browser.close()
