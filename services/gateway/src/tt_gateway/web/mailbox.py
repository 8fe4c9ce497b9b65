"""Demo mailbox: the emails the local SMTP sink caught, so a demo user can click the links.

Only in development and test; everywhere else the page does not exist.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ..deps import OptionalUser, SettingsDep
from .templating import render

router = APIRouter(include_in_schema=False)
DEMO_ENVIRONMENTS = ("development", "test")
DEFAULT_SINK = "http://127.0.0.1:8026"
LINK_RE = re.compile(r"https?://[^\s<>\"')]+")


def sink_url(settings: Any) -> str:
    return str(getattr(settings, "smtp_sink_http_url", "") or DEFAULT_SINK).rstrip("/")


def _text_of(message: dict) -> str:
    for key in ("text", "body", "text_body", "plain"):
        if isinstance(message.get(key), str) and message[key]:
            return message[key]
    raw = message.get("html") or message.get("html_body") or ""
    return html.unescape(re.sub(r"<[^>]+>", " ", raw)) if isinstance(raw, str) else ""


def normalise(message: dict) -> dict:
    """Tolerant reader over the sink's JSON: recipients, subject, text and the links in it."""
    to = message.get("to") or message.get("recipients") or message.get("rcpt_to") or []
    if isinstance(to, str):
        to = [to]
    text = _text_of(message)
    links = list(dict.fromkeys(LINK_RE.findall(text + " " + str(message.get("html") or ""))))
    return {
        "id": str(message.get("id", "")),
        "to": ", ".join(str(t) for t in to),
        "sender": message.get("from") or message.get("sender") or message.get("mail_from") or "",
        "subject": message.get("subject") or "(no subject)",
        "received_at": message.get("received_at") or message.get("date") or "",
        "text": text,
        "links": links,
    }


async def fetch_messages(base: str) -> list[dict]:
    async with httpx.AsyncClient(timeout=2.0) as http:
        response = await http.get(f"{base}/messages")
        response.raise_for_status()
        body = response.json()
    items = body.get("messages", []) if isinstance(body, dict) else body
    messages = [normalise(m) for m in items if isinstance(m, dict)]
    return list(reversed(messages)) if messages and _ascending(items) else messages


def _ascending(items: list) -> bool:
    stamps = [m.get("received_at") for m in items if isinstance(m, dict) and m.get("received_at")]
    return len(stamps) > 1 and stamps == sorted(stamps) and stamps[0] != stamps[-1]


@router.get("/dev/mailbox", response_class=HTMLResponse)
async def mailbox(request: Request, settings: SettingsDep, user: OptionalUser, to: str = "") -> Response:
    if settings.environment not in DEMO_ENVIRONMENTS:
        raise HTTPException(404, "Not Found")
    base = sink_url(settings)
    messages: list[dict] = []
    error = None
    try:
        messages = await fetch_messages(base)
    except (httpx.HTTPError, ValueError):
        error = f"The local mail sink is not reachable at {base}. Start it with `python -m tt_sandbox.smtp`."
    if to:
        messages = [m for m in messages if to.lower() in m["to"].lower()]
    return render(
        request,
        "dev/mailbox.html",
        {"messages": messages, "error": error, "to": to, "user": user, "sink": base},
    )
