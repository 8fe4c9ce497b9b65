"""Subscriptions of the chart-render service: thin, parse → call the use case → return.

The status request is answered by the runtime.
"""

from __future__ import annotations

from tt_contracts import registry
from tt_contracts.chart_render import ChartReply, GetChart, RenderChart
from tt_runtime.bus import Handlers

from .service import ChartService


def build_handlers(charts: ChartService | None) -> Handlers:
    """The subscriptions bound to one ``ChartService`` (its pool, store and publisher)."""
    handlers = Handlers("chart-render")

    @handlers.stateless(registry.CHART_RENDER, batch_size=4)
    async def render_chart(command: RenderChart) -> None:
        """Render (or find) the chart and announce ``chart.rendered`` / ``chart.failed``."""
        await _bound(charts).handle(command)

    @handlers.respond(registry.CHART_GET, transactional=False)
    async def get_chart(request: GetChart, _uow: None) -> ChartReply:
        """The stored PNG, base64, for the gateway to serve."""
        return await _bound(charts).get(request)

    return handlers


def _bound(charts: ChartService | None) -> ChartService:
    if charts is None:
        raise RuntimeError("the module-level declaration is not bound to a service; use app.build()")
    return charts


# What this service subscribes to, for the registry checks; ``app.build`` binds a real ChartService.
handlers = build_handlers(None)
