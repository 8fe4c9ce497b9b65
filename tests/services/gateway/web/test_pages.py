"""Pages over HTTP against gateway + identity: the account journey with inline form errors, the
onboarding wizard, settings, admin, the demo mailbox, SSE status, and the page security rules
(nonce on every script, no inline styles or handlers, CSRF token on every unsafe form)."""

from __future__ import annotations

import re

import httpx

ADMIN_EMAIL = "admin@example.com"
PASSWORD = "correct horse battery staple"


def csrf(page: httpx.Response) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert found, "layout carries the CSRF token"
    return found.group(1)


async def post(
    http: httpx.AsyncClient, path: str, data: dict, from_page: str | None = None
) -> httpx.Response:
    page = await http.get(from_page or path)
    return await http.post(path, data={**data, "csrf_token": csrf(page)})


async def sign_up_and_verify(http: httpx.AsyncClient, stack, email: str, name: str = "Ada") -> None:
    done = await post(
        http,
        "/sign-up",
        {"email": email, "display_name": name, "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert done.status_code == 200 and "Check your email" in done.text, done.text[:500]
    verified = await http.get(await stack.link_in_mail(email, "/verify-email"))
    assert verified.status_code == 200 and "Email confirmed" in verified.text


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await post(http, "/sign-in", {"email": email, "password": password})


async def test_public_pages_follow_the_page_rules(page_rules, web_stack):
    async with web_stack() as stack, httpx.AsyncClient(base_url=stack.url) as http:
        for path in ["/", "/sign-up", "/sign-in", "/forgot-password", "/status", "/dev/mailbox"]:
            page = await http.get(path)
            assert page.status_code == 200, path
            page_rules(page)
        landing = await http.get("/")
        assert "market-data" in landing.text and "/sign-up" in landing.text
        assert (await http.get("/static/css/app.css")).headers["content-type"].startswith("text/css")
        assert (await http.get("/static/../web/__init__.py")).status_code == 404
        dashboard = await http.get("/dashboard")
        assert dashboard.status_code == 303 and dashboard.headers["location"].startswith("/sign-in?next=")
        assert (await http.get("/events/notifications")).status_code == 401


async def test_sign_up_verify_sign_in_onboard_and_sign_out(page_rules, web_stack):
    email = "ada@example.com"
    async with web_stack() as stack, httpx.AsyncClient(base_url=stack.url) as http:
        mismatch = await post(
            http, "/sign-up", {"email": email, "password": PASSWORD, "password_confirm": PASSWORD + "x"}
        )
        assert mismatch.status_code == 422 and "do not match" in mismatch.text
        assert 'aria-invalid="true"' in mismatch.text and email in mismatch.text, "input kept, field marked"
        bad_email = await post(
            http, "/sign-up", {"email": "nope", "password": PASSWORD, "password_confirm": PASSWORD}
        )
        assert bad_email.status_code == 422 and "Enter an email address" in bad_email.text

        await sign_up_and_verify(http, stack, email)
        again = await post(
            http, "/sign-up", {"email": email, "password": PASSWORD, "password_confirm": PASSWORD}
        )
        assert again.status_code == 200 and "Check your email" in again.text, "no account enumeration"

        reused = await http.get(await stack.link_in_mail(email, "/verify-email"))
        assert reused.status_code == 400 and "Send a new link" in reused.text

        wrong = await sign_in(http, email, "not the password at all")
        assert wrong.status_code == 401 and "not right" in wrong.text

        signed_in = await sign_in(http, email)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/onboarding"
        first = await http.get("/onboarding", follow_redirects=True)
        assert str(first.url).endswith("/onboarding/profile") and "Your profile" in first.text
        page_rules(first)

        bad = await post(
            http,
            "/onboarding/profile",
            {
                "action": "save",
                "display_name": "Ada L",
                "timezone": "UTC",
                "base_currency": "EUR",
                "risk_per_trade_percent": "250",
                "max_open_positions": "3",
            },
        )
        assert bad.status_code == 422 and "between 0 and 100" in bad.text
        saved = await post(
            http,
            "/onboarding/profile",
            {
                "action": "save",
                "display_name": "Ada L",
                "timezone": "Europe/Zurich",
                "base_currency": "EUR",
                "risk_per_trade_percent": "0.5",
                "max_open_positions": "3",
            },
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/onboarding/broker"
        for step, following, shown in [
            ("broker", "/onboarding/credits", "use the paper broker"),
            ("credits", "/onboarding/bot", "Coming next"),
            ("bot", "/dashboard?welcome=1", "Coming next"),
        ]:
            page = await http.get(f"/onboarding/{step}")
            assert shown in page.text
            skipped = await post(http, f"/onboarding/{step}", {"action": "skip"})
            assert skipped.headers["location"] == following

        dashboard = await http.get("/dashboard?welcome=1")
        assert dashboard.status_code == 200 and "Welcome, Ada L" in dashboard.text
        assert "Finish setting up" not in dashboard.text
        for label in [
            "Markets",
            "Bots",
            "Orders &amp; positions",
            "Backtests",
            "Billing",
            "Notifications",
            "Settings",
        ]:
            assert label in dashboard.text
        assert 'hx-sse:connect="/events/status"' in dashboard.text and "market-data" in dashboard.text
        assert "/admin" not in dashboard.text, "no admin link for a trader"
        page_rules(dashboard)

        bots = await http.get("/bots")
        assert bots.status_code == 200 and "arrives with the strategy issue" in bots.text
        assert 'aria-current="page"' in bots.text

        settings = await http.get("/settings")
        assert "Europe/Zurich" in settings.text and 'value="0.5"' in settings.text
        security = await http.get("/settings/security")
        assert "this device" in security.text
        page_rules(security)
        wrong_current = await post(
            http,
            "/settings/password",
            {
                "current_password": "nope nope nope",
                "new_password": PASSWORD + "!",
                "new_password_confirm": PASSWORD + "!",
            },
            from_page="/settings/security",
        )
        assert wrong_current.status_code == 422 and "not your current password" in wrong_current.text

        forbidden = await http.get("/admin")
        assert forbidden.status_code == 403 and "administrators" in forbidden.text

        mailbox = await http.get("/dev/mailbox")
        assert email in mailbox.text and "/verify-email?token=" in mailbox.text

        out = await post(http, "/sign-out", {}, from_page="/dashboard")
        assert out.status_code == 303 and out.headers["location"] == "/"
        after = await http.get("/dashboard")
        assert after.status_code == 303 and "/sign-in" in after.headers["location"]


async def test_password_reset_by_email(web_stack):
    email = "grace@example.com"
    async with web_stack() as stack, httpx.AsyncClient(base_url=stack.url) as http:
        await sign_up_and_verify(http, stack, email, "Grace")
        asked = await post(http, "/forgot-password", {"email": email})
        assert asked.status_code == 200 and "on its way" in asked.text
        unknown = await post(http, "/forgot-password", {"email": "nobody@example.com"})
        assert unknown.status_code == 200 and "on its way" in unknown.text, "no account enumeration"

        link = await stack.link_in_mail(email, "/reset-password")
        form = await http.get(link)
        assert form.status_code == 200 and "Choose a new password" in form.text
        token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)
        short = await http.post(
            "/reset-password",
            data={"token": token, "password": "short", "password_confirm": "short", "csrf_token": csrf(form)},
        )
        assert short.status_code == 422 and "at least" in short.text
        new = PASSWORD + " again"
        done = await http.post(
            "/reset-password",
            data={"token": token, "password": new, "password_confirm": new, "csrf_token": csrf(form)},
        )
        assert done.status_code == 303 and done.headers["location"] == "/sign-in?reset=1"
        replay = await http.post(
            "/reset-password",
            data={"token": token, "password": new, "password_confirm": new, "csrf_token": csrf(form)},
        )
        assert replay.status_code == 400 and "expired" in replay.text
        assert (await sign_in(http, email)).status_code == 401
        assert (await sign_in(http, email, new)).status_code == 303


async def test_admin_sees_users_and_audit_and_sets_roles(page_rules, web_stack):
    async with web_stack() as stack, httpx.AsyncClient(base_url=stack.url) as http:
        async with httpx.AsyncClient(base_url=stack.url) as other:
            await sign_up_and_verify(other, stack, "trader@example.com", "Tess")
        await sign_up_and_verify(http, stack, ADMIN_EMAIL, "Root")
        assert (await sign_in(http, ADMIN_EMAIL)).status_code == 303
        users = await http.get("/admin")
        assert users.status_code == 200 and "trader@example.com" in users.text and "2 users" in users.text
        page_rules(users)
        trader_id = re.search(
            r'/admin/users/([0-9a-f-]{36})/roles"[^>]*>.{0,600}?trader@example.com', users.text, re.S
        )
        trader_id = trader_id or re.search(
            r"trader@example.com.{0,1500}?/admin/users/([0-9a-f-]{36})/roles", users.text, re.S
        )
        set_roles = await http.post(
            f"/admin/users/{trader_id.group(1)}/roles",
            data={"roles": ["trader", "support"], "csrf_token": csrf(users)},
        )
        assert set_roles.status_code == 303, set_roles.text[:300]
        assert "support" in (await http.get("/admin?q=trader")).text

        audit = await http.get("/admin/audit")
        assert audit.status_code == 200 and "hash chain verified" in audit.text
        filtered = await http.get(f"/admin/audit?subject={trader_id.group(1)}")
        assert "roles.changed" in filtered.text
        bad = await http.get("/admin/audit?subject=not-a-uuid")
        assert bad.status_code == 422 and "UUID" in bad.text


async def test_status_streams_over_sse(web_stack):
    async with (
        web_stack(status_stream_interval_seconds=0.2) as stack,
        httpx.AsyncClient(base_url=stack.url) as http,
    ):
        async with http.stream("GET", "/events/status", timeout=10) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            data = []
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    data.append(line[5:])
                if line == "" and data:
                    break
        fragment = "\n".join(data)
        assert "market-data" in fragment and "services up" in fragment
