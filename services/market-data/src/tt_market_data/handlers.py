"""Subscriptions of the market-data service: thin, parse → call the use case → return.

The status request is answered by the runtime.
"""

from __future__ import annotations

from tt_contracts import market_data as md
from tt_runtime.bus import Handlers
from tt_runtime.db import UnitOfWork

from .indicators import catalogue
from .service import MarketData


def build_handlers(svc: MarketData) -> Handlers:
    """The market-data subscriptions, bound to one service instance (replicas in one process each
    answer with their own)."""
    handlers = Handlers("market-data")

    @handlers.respond(md.INSTRUMENTS_SEARCH)
    async def search_instruments(request: md.SearchInstruments, uow: UnitOfWork) -> md.InstrumentsReply:
        return await svc.search(request, uow)

    @handlers.respond(md.INSTRUMENTS_SYNC, transactional=False)
    async def sync_instruments(request: md.SyncInstruments, _uow: None) -> md.SyncReply:
        return await svc.sync_instruments()

    @handlers.respond(md.WATCHLIST_GET)
    async def watchlist_get(request: md.WatchlistGet, uow: UnitOfWork) -> md.WatchlistReply:
        return await svc.watchlist(uow, request.user_id, request.name)

    @handlers.respond(md.WATCHLIST_ADD)
    async def watchlist_add(request: md.WatchlistChange, uow: UnitOfWork) -> md.WatchlistReply:
        return await svc.watchlist_change(request, uow, add=True)

    @handlers.respond(md.WATCHLIST_REMOVE)
    async def watchlist_remove(request: md.WatchlistChange, uow: UnitOfWork) -> md.WatchlistReply:
        return await svc.watchlist_change(request, uow, add=False)

    @handlers.respond(md.CANDLES_GET, transactional=False)
    async def get_candles(request: md.GetCandles, _uow: None) -> md.CandlesReply:
        return await svc.candles(request)

    @handlers.respond(md.COVERAGE_GET, transactional=False)
    async def get_coverage(request: md.GetCoverage, _uow: None) -> md.CoverageReply:
        return await svc.coverage(request)

    @handlers.respond(md.QUOTE_LATEST)
    async def latest_quote(request: md.GetLatestQuote, uow: UnitOfWork) -> md.LatestQuoteReply:
        return await svc.latest_quote(request, uow)

    @handlers.respond(md.HISTORY_BACKFILL, transactional=False)
    async def backfill(request: md.BackfillRequest, _uow: None) -> md.BackfillReply:
        return await svc.backfill(request)

    @handlers.respond(md.UPLOAD_VALIDATE, transactional=False)
    async def upload_validate(request: md.UploadCsv, _uow: None) -> md.UploadReport:
        return await svc.upload(request, commit=False)

    @handlers.respond(md.UPLOAD_IMPORT, transactional=False)
    async def upload_import(request: md.UploadCsv, _uow: None) -> md.UploadReport:
        return await svc.upload(request, commit=True)

    @handlers.respond(md.INDICATORS_LIST, transactional=False)
    async def list_indicators(request: md.ListIndicators, _uow: None) -> md.IndicatorsReply:
        return md.IndicatorsReply(
            indicators=[
                md.IndicatorInfo(
                    name=d.name,
                    group=d.group,
                    display_name=d.display_name,
                    inputs=list(d.inputs),
                    outputs=list(d.outputs),
                    params=[
                        md.IndicatorParamSpec(
                            name=p.name,
                            type=p.type,
                            default=p.default,
                            min=p.min,
                            max=p.max,
                            help=p.help,
                            choices=catalog_ma_types() if p.type == "matype" else None,
                        )
                        for p in d.params
                    ],
                )
                for d in catalogue().values()
            ]
        )

    def catalog_ma_types() -> dict[int, str]:
        from .indicators.catalog import MA_TYPES

        return MA_TYPES

    return handlers
