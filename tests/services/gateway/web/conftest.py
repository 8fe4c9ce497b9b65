"""The web UI against the real platform path: gateway + identity over NATS/Postgres, emails caught by
the SMTP sink (whose JSON API the demo mailbox reads)."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tt_gateway.app import create_app
from tt_gateway.settings import Settings
from tt_identity.testing import identity_settings, running_identity
from tt_runtime.testing import free_port, service_settings, serving, wait_until
from tt_sandbox.smtp import SmtpSink, http_server

ADMIN_EMAIL = "admin@example.com"


@dataclass
class Stack:
    url: str
    sink: SmtpSink
    sink_url: str

    def mail_to(self, address: str) -> list[Any]:
        return [m for m in self.sink.messages if address in m.to]

    async def link_in_mail(self, address: str, path: str, after: int = 0, timeout: float = 10.0) -> str:
        """The newest link to ``path`` mailed to ``address`` (path + query), waiting for the mail to
        arrive; ``after``: only mails with a higher id (identity sends after it answers)."""
        pattern = re.compile(rf"https?://[^\s/]+({re.escape(path)}\?token=[\w\-.~%]+)")

        def find() -> str | None:
            for message in reversed(self.mail_to(address)):
                found = pattern.search(message.text)
                if message.id > after and found:
                    return found.group(1)
            return None

        await wait_until(lambda: find() is not None, timeout=timeout)
        return find() or ""

    def last_mail_id(self) -> int:
        return max((m.id for m in self.sink.messages), default=0)

    async def sign_up_in_browser(self, page: Any, email: str, password: str, next_path: str) -> None:
        """Sign up through the pages, follow the mailed verification link, sign in, land on next_path."""
        from playwright.async_api import expect

        await page.goto(self.url + "/sign-up")
        await page.get_by_label("Your name").fill("Trader")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password", exact=True).fill(password)
        await page.get_by_label("Repeat the password").fill(password)
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        await page.goto(self.url + await self.link_in_mail(email, "/verify-email"))
        await page.goto(f"{self.url}/sign-in?next={next_path}")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


@pytest.fixture
def web_stack(nats_url, database_url, jetstream) -> Callable[..., AbstractAsyncContextManager[Stack]]:
    """``async with web_stack(browser=False) as stack``. With ``browser=True`` the public URL is the
    real loopback address (``__Host-`` cookies); httpx cannot send Secure cookies over http, so its
    tests use a non-loopback public URL and plain cookie names."""

    @asynccontextmanager
    async def start(
        browser: bool = False, identity_overrides: dict[str, Any] | None = None, **gateway_overrides: Any
    ) -> AsyncIterator[Stack]:
        port = free_port()
        real = f"http://127.0.0.1:{port}"
        public = real if browser else f"http://gateway.test:{port}"
        sink_http_port = free_port()
        with SmtpSink() as sink:
            api = http_server(sink, "127.0.0.1", sink_http_port)
            thread = threading.Thread(target=api.serve_forever, daemon=True)
            thread.start()
            try:
                identity = identity_settings(
                    nats_url,
                    database_url,
                    public_url=real,
                    smtp_port=sink.port,
                    identity_bootstrap_admin_email=ADMIN_EMAIL,
                    **(identity_overrides or {}),
                )
                values: dict[str, Any] = dict(
                    public_url=public,
                    status_timeout_seconds=0.3,
                    smtp_sink_http_url=f"http://127.0.0.1:{sink_http_port}",
                    jwt_issuer=identity.jwt_issuer,
                    jwt_audience=identity.jwt_audience,
                )
                values.update(gateway_overrides)
                gateway = service_settings("gateway", nats_url, database_url, cls=Settings, **values)
                async with running_identity(identity), serving(create_app(gateway), port) as url:
                    yield Stack(url=url, sink=sink, sink_url=f"http://127.0.0.1:{sink_http_port}")
            finally:
                api.shutdown()
                api.server_close()

    return start


@pytest.fixture
def page_rules() -> Callable[[httpx.Response], None]:
    """The CSP, CSRF and accessibility rules every server-rendered page keeps."""

    def check(page: httpx.Response) -> None:
        html = page.text
        nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"]).group(1)
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts and all(f'nonce="{nonce}"' in s for s in scripts), scripts
        assert not re.search(r"\sstyle\s*=", html), "inline style attributes are blocked by the CSP"
        assert not re.search(r"<style\b", html)
        assert not re.search(r"\son[a-z]+\s*=", html), "inline event handlers are blocked by the CSP"
        for form in re.findall(r"<form\b[^>]*method=\"post\"[^>]*>.*?</form>", html, re.S):
            assert 'name="csrf_token"' in form, form[:200]
        assert 'href="#main"' in html and 'id="main"' in html, "skip link to the main landmark"
        for field in re.findall(r'<(?:input|select|textarea) id="([\w-]+)"', html):
            assert f'for="{field}"' in html, f"{field} has a label"

    return check
