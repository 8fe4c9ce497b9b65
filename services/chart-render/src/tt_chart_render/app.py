"""The chart-render service's wiring."""

from __future__ import annotations

from dataclasses import dataclass

from faststream.asgi import AsgiFastStream

from tt_runtime.service import ServiceRuntime

from .adapters.events import DirectPublisher
from .adapters.owners import RenderOwners
from .adapters.storage import LocalObjectStore, ObjectStore, S3ObjectStore
from .handlers import build_handlers
from .pool import RenderPool
from .service import ChartService
from .settings import Settings


@dataclass
class ChartRender:
    runtime: ServiceRuntime
    charts: ChartService
    pool: RenderPool


def object_store(settings: Settings) -> ObjectStore:
    if settings.storage_backend == "s3":
        secret = lambda s: s.get_secret_value() if s is not None else None  # noqa: E731
        return S3ObjectStore(
            settings.s3_bucket,
            region=settings.s3_region,
            endpoint=settings.s3_endpoint,
            access_key_id=secret(settings.s3_access_key_id),
            secret_access_key=secret(settings.s3_secret_access_key),
            allow_http=settings.s3_allow_http,
        )
    return LocalObjectStore(settings.storage_path)


def build(settings: Settings | None = None, *, store: ObjectStore | None = None) -> ChartRender:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings)
    pool = RenderPool(
        settings.render_workers,
        timeout=settings.render_timeout_seconds,
        tasks_per_worker=settings.render_tasks_per_worker,
    )
    charts = ChartService(
        ask=runtime.ask,  # type: ignore[arg-type]
        publish=DirectPublisher(runtime),
        store=store or object_store(settings),
        pool=pool,
        owners=RenderOwners(runtime.db, settings.known_keys_cache),
        known_keys=settings.known_keys_cache,
    )
    runtime.include(build_handlers(charts))
    return ChartRender(runtime, charts, pool)


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    service = build(settings)
    app = service.runtime.ops_app()
    app.after_startup(service.pool.start)
    app.on_shutdown(service.pool.stop)
    return app
