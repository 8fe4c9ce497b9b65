"""Orders & positions: the trading page with its ticket, its live updates, and the history."""

from fastapi import APIRouter

from . import display, history, live, pages

router = APIRouter(include_in_schema=False)
for _module in (pages, live, history):
    router.include_router(_module.router)

__all__ = ["display", "router"]
