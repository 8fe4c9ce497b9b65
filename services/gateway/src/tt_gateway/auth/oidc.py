"""Browser side of OIDC sign-in (authorization code + PKCE). identity builds the authorization URL
and exchanges the code; the gateway only carries state, nonce and verifier in a short-lived cookie."""

from __future__ import annotations

import hmac
import json
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from tt_contracts import identity as idm
from tt_contracts import registry

from ..deps import RuntimeDep, SettingsDep
from ..security import client_context
from . import session

router = APIRouter(prefix="/auth/oidc", include_in_schema=False)
FLOW_COOKIE = "tt_oidc"


def _redirect_uri(settings, provider: str) -> str:
    return f"{settings.public_url.rstrip('/')}/auth/oidc/{provider}/callback"


@router.get("/{provider}/start")
async def start(provider: str, runtime: RuntimeDep, settings: SettingsDep) -> RedirectResponse:
    try:
        reply = await runtime.ask(
            registry.OIDC_AUTHORIZE_URL,
            idm.OidcAuthorizeUrl(
                provider=provider, redirect_uri=_redirect_uri(settings, provider), producer="gateway"
            ),
        )
    except Exception:
        return RedirectResponse(f"/sign-in?error={quote('That sign-in provider is not available')}", 303)
    response = RedirectResponse(reply.url, status_code=303)
    flow = json.dumps({"p": provider, "s": reply.state, "v": reply.code_verifier, "n": reply.nonce})
    # Lax, not Strict: the provider's redirect back is a top-level cross-site navigation.
    response.set_cookie(
        settings.cookie_prefix + FLOW_COOKIE,
        flow,
        max_age=600,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    return response


@router.get("/{provider}/callback")
async def callback(
    provider: str,
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    code: str = "",
    state: str = "",
    error: str = "",
) -> RedirectResponse:
    raw = request.cookies.get(settings.cookie_prefix + FLOW_COOKIE)
    if error or not raw:
        return RedirectResponse(f"/sign-in?error={quote(error or 'The sign-in expired; try again')}", 303)
    try:
        flow = json.loads(raw)
    except ValueError:
        raise HTTPException(400, "Bad sign-in state") from None
    if flow.get("p") != provider or not hmac.compare_digest(str(flow.get("s", "")), state):
        raise HTTPException(400, "Sign-in state mismatch")
    try:
        tokens = await runtime.ask(
            registry.OIDC_SIGN_IN,
            idm.OidcSignIn(
                provider=provider,
                code=code,
                code_verifier=flow["v"],
                redirect_uri=_redirect_uri(settings, provider),
                nonce=flow["n"],
                client=client_context(request),
                producer="gateway",
            ),
        )
    except Exception:
        return RedirectResponse(f"/sign-in?error={quote('Sign-in with that provider failed')}", 303)
    response = RedirectResponse("/dashboard", status_code=303)
    response.delete_cookie(settings.cookie_prefix + FLOW_COOKIE, path="/", secure=settings.secure_cookies)
    session.start(response, tokens, settings)
    return response
