"""HTTP security at the edge, as plain ASGI middlewares (they must see and replay request bodies and
add headers to streaming responses, which FastAPI dependencies cannot):

* ``SecurityHeaders``: a fresh CSP nonce per request (``request.state.csp_nonce``), a strict CSP,
  and the usual hardening headers.
* ``CsrfProtection``: double-submit token (cookie + form field or ``X-CSRF-Token`` header) plus
  Origin / Sec-Fetch-Site checks on every unsafe browser request. Bearer-token API calls and
  signed webhooks are exempt (no ambient credentials).
* ``SessionRefresh``: renews an expired or expiring access cookie from the refresh cookie before
  the route runs, so pages never see a stale session.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from urllib.parse import urlparse

import structlog
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tt_contracts.identity import ClientContext, RefreshTokens

from .auth import session
from .settings import Settings

log = structlog.get_logger(__name__)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_COOKIE = "tt_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_BYTES = 10 * 1024 * 1024


def _state(scope: Scope) -> dict:
    return scope.setdefault("state", {})


def client_context(request: Request) -> ClientContext:
    ip = request.client.host if request.client else None
    return ClientContext(ip=ip, user_agent=(request.headers.get("user-agent") or "")[:400] or None)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def csp(self, nonce: str, path: str) -> str:
        script = f"'self' 'nonce-{nonce}'"
        style = "'self'"
        if path.startswith("/docs"):  # Swagger UI's assets come from its CDN
            script += " https://cdn.jsdelivr.net 'unsafe-inline'"
            style += " https://cdn.jsdelivr.net"
        return (
            f"default-src 'self'; script-src {script}; style-src {style}; img-src 'self' data:; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        _state(scope)["csp_nonce"] = nonce
        policy = self.csp(nonce, scope["path"])
        https = self.settings.public_url.startswith("https://")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", policy)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "same-origin")
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("cross-origin-opener-policy", "same-origin")
                headers.setdefault("permissions-policy", "camera=(), microphone=(), geolocation=()")
                if https:
                    headers.setdefault("strict-transport-security", "max-age=63072000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _cookies(scope: Scope) -> dict[str, str]:
    raw = b"; ".join(v for k, v in scope["headers"] if k == b"cookie").decode("latin-1")
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:
        return {}
    return {k: m.value for k, m in jar.items()}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _buffer(receive: Receive, limit: int) -> tuple[bytes, Receive]:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ValueError("request body too large")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


class CsrfProtection:
    def __init__(self, app: ASGIApp, settings: Settings, exempt_prefixes: tuple[str, ...] = ("/webhooks/",)):
        self.app = app
        self.settings = settings
        self.exempt = exempt_prefixes
        parsed = urlparse(settings.public_url)
        self.origin = f"{parsed.scheme}://{parsed.netloc}"

    def cookie_name(self) -> str:
        return self.settings.cookie_prefix + CSRF_COOKIE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = _cookies(scope).get(self.cookie_name())
        token = cookie or secrets.token_urlsafe(32)
        _state(scope)["csrf_token"] = token
        if scope["method"] in UNSAFE and not self._exempt(scope):
            problem, receive = await self._check(scope, receive, cookie)
            if problem:
                log.warning("csrf rejected", path=scope["path"], reason=problem)
                response = (
                    JSONResponse(
                        {"error": {"code": "csrf", "message": "Cross-site request refused"}}, status_code=403
                    )
                    if scope["path"].startswith("/api/")
                    else PlainTextResponse("Cross-site request refused", status_code=403)
                )
                await response(scope, receive, send)
                return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and not cookie:
                headers = MutableHeaders(scope=message)
                secure = "; Secure" if self.settings.secure_cookies else ""
                headers.append(
                    "set-cookie", f"{self.cookie_name()}={token}; Path=/; HttpOnly; SameSite=Lax{secure}"
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _exempt(self, scope: Scope) -> bool:
        if any(scope["path"].startswith(p) for p in self.exempt):
            return True
        auth = _header(scope, b"authorization") or ""
        # A bearer token is not sent by browsers on their own, and no cookie session is involved.
        return auth.lower().startswith("bearer ") and not _cookies(scope).get(
            session.cookie_name(self.settings, session.ACCESS)
        )

    async def _check(self, scope: Scope, receive: Receive, cookie: str | None) -> tuple[str | None, Receive]:
        site = _header(scope, b"sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return f"sec-fetch-site {site}", receive
        origin = _header(scope, b"origin")
        if origin is not None and origin != self.origin:
            return f"origin {origin}", receive
        if not cookie:
            return "no csrf cookie", receive
        sent = _header(scope, b"x-csrf-token")
        if sent is None:
            content_type = _header(scope, b"content-type") or ""
            if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                try:
                    _body, receive = await _buffer(receive, MAX_FORM_BYTES)
                except ValueError:
                    return "body too large", receive
                form = await Request(scope, receive).form()
                sent = str(form.get(CSRF_FIELD) or "")
                await form.close()
                _body, receive = _body, _replay_again(_body, receive)
        if not sent or not hmac.compare_digest(sent, cookie):
            return "csrf token missing or wrong", receive
        return None, receive


def _replay_again(body: bytes, receive: Receive) -> Receive:
    """A fresh replay for the route after the middleware consumed the buffered body."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _jwt_expiry(token: str) -> float | None:
    """``exp`` of a JWT without verifying it: only to decide whether to refresh before the route."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return float(json.loads(base64.urlsafe_b64decode(payload))["exp"])
    except Exception:
        return None


class SessionRefresh:
    """Silent refresh: a browser with a refresh cookie and an expired/expiring access cookie gets new
    cookies before the route runs. A refused refresh (reuse, expiry) clears the session."""

    def __init__(self, app: ASGIApp, settings: Settings, refresh: Callable[[RefreshTokens], Awaitable]):
        self.app = app
        self.settings = settings
        self.refresh = refresh

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(
            ("/static/", "/healthz", "/readyz", "/metrics")
        ):
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        access_name = session.cookie_name(self.settings, session.ACCESS)
        refresh_token = cookies.get(session.cookie_name(self.settings, session.REFRESH))
        access = cookies.get(access_name)
        expiry = _jwt_expiry(access) if access else None
        if not refresh_token or (expiry is not None and expiry - time.time() > 30):
            await self.app(scope, receive, send)
            return
        set_cookies: list[str] = []
        try:
            tokens = await self.refresh(
                RefreshTokens(
                    refresh_token=refresh_token, client=client_context(Request(scope)), producer="gateway"
                )
            )
        except Exception as exc:
            log.info("session refresh refused", reason=str(exc)[:200])
            cookies.pop(access_name, None)
            set_cookies = _cookie_headers(lambda r: session.clear(r, self.settings))
        else:
            cookies[access_name] = tokens.access_token
            set_cookies = _cookie_headers(lambda r: session.start(r, tokens, self.settings))
        _replace_cookie_header(scope, cookies)

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for value in set_cookies:
                    headers.append("set-cookie", value)
            await send(message)

        await self.app(scope, receive, send_with_cookies)


def _cookie_headers(apply: Callable) -> list[str]:
    from starlette.responses import Response

    response = Response()
    apply(response)
    return [v.decode("latin-1") for k, v in response.raw_headers if k == b"set-cookie"]


def _replace_cookie_header(scope: Scope, cookies: dict[str, str]) -> None:
    value = "; ".join(f"{k}={v}" for k, v in cookies.items()).encode("latin-1")
    scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"cookie"] + [(b"cookie", value)]


class RateLimiter:
    """Sliding one-minute windows per key (IP, user). In memory, per replica."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.hits: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = self.clock()
        window = self.hits[key]
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True
