"""Server-rendered pages (Jinja2 + htmx + SSE). Every form also works as a plain POST.

``router`` collects the page routers; ``app.py`` includes it once.
"""

from fastapi import APIRouter

from . import (
    account,
    admin,
    assets,
    brokers,
    events,
    mailbox,
    markets,
    onboarding,
    orders,
    pages,
    settings_pages,
)

router = APIRouter(include_in_schema=False)
for _module in (
    assets,
    pages,
    account,
    onboarding,
    settings_pages,
    admin,
    mailbox,
    events,
    markets,
    orders,
    brokers,
):
    router.include_router(_module.router)

__all__ = ["router"]
