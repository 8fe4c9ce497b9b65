"""The markets area: instrument search and watchlist, the instrument page (interactive chart, the
server-rendered chart the AI sees, coverage), CSV upload, and their live streams.

Chart routes come before the instrument page: ``/markets/charts/{hash}.png`` would otherwise match
``/markets/{venue}/{symbol}``.
"""

from fastapi import APIRouter

from . import charts, instrument, live, search, upload

router = APIRouter(include_in_schema=False)
for _module in (search, upload, charts, instrument, live):
    router.include_router(_module.router)

__all__ = ["router"]
