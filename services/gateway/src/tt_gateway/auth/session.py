"""Browser session cookies: ``__Host-`` prefixed, Secure, HttpOnly, SameSite=Lax, Path=/.

The access token lives ~10 minutes; the refresh token (opaque, rotated on every use by identity)
renews it silently. Neither is readable by scripts.
"""

from __future__ import annotations

from fastapi import Response

from tt_contracts.identity import TokenPair

from ..settings import Settings

ACCESS = "tt_access"
REFRESH = "tt_refresh"


def cookie_name(settings: Settings, base: str) -> str:
    return settings.cookie_prefix + base


def start(response: Response, tokens: TokenPair, settings: Settings) -> None:
    common = {"secure": settings.secure_cookies, "httponly": True, "samesite": "lax", "path": "/"}
    response.set_cookie(
        cookie_name(settings, ACCESS), tokens.access_token, max_age=tokens.expires_in, **common
    )
    response.set_cookie(
        cookie_name(settings, REFRESH),
        tokens.refresh_token,
        max_age=tokens.refresh_expires_in or 14 * 24 * 3600,
        **common,
    )


def clear(response: Response, settings: Settings) -> None:
    for base in (ACCESS, REFRESH):
        response.delete_cookie(
            cookie_name(settings, base),
            path="/",
            secure=settings.secure_cookies,
            httponly=True,
            samesite="lax",
        )
