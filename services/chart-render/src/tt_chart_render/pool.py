"""A bounded process pool for rendering: matplotlib is CPU-bound and not thread-safe, so every
render runs in a worker process and the event loop stays free for the bus."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog

from tt_runtime.errors import TransientError

from .domain import ChartSpec

log = structlog.get_logger(__name__)


def _warm() -> None:
    """Worker start: load fonts and code paths once, before the first real chart (cheap when the
    forkserver already imported everything)."""
    from .render import warm_up

    warm_up()


def _context() -> multiprocessing.context.BaseContext:
    """forkserver, not fork: the parent holds NATS and database connections and an event loop. The
    forkserver imports matplotlib, pandas and mplfinance once; every worker (and every replacement
    after ``max_tasks_per_child`` or a crash) is forked from it in milliseconds instead of paying
    seconds of imports as a spawned process would."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover (not Linux)
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tt_chart_render.render"])
    return context


def _noop() -> None:
    return None


def _render(spec: ChartSpec) -> bytes:
    from .render import render_png

    return render_png(spec)


class RenderPool:
    def __init__(self, workers: int = 2, *, timeout: float = 60.0, tasks_per_worker: int = 2000) -> None:
        self.workers = max(1, workers)
        self.timeout = timeout
        self.tasks_per_worker = tasks_per_worker
        self._executor: ProcessPoolExecutor | None = None
        self._slots = asyncio.Semaphore(self.workers)  # never queue more than the pool can run

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=_context(),
                initializer=_warm,
                max_tasks_per_child=self.tasks_per_worker,
            )
        return self._executor

    async def render(self, spec: ChartSpec) -> bytes:
        async with self._slots:
            loop = asyncio.get_running_loop()
            try:
                return await asyncio.wait_for(
                    loop.run_in_executor(self._pool(), _render, spec), timeout=self.timeout
                )
            except BrokenProcessPool as exc:
                log.error("render worker died; replacing the pool", error=repr(exc))
                await self.stop()
                raise TransientError("render worker died") from exc
            except TimeoutError as exc:
                log.error("render timed out; replacing the pool", timeout=self.timeout)
                await self.stop()
                raise TransientError(f"render took longer than {self.timeout}s") from exc

    async def start(self) -> None:
        """Start the workers now (forkserver + imports take seconds) rather than on the first chart."""
        loop = asyncio.get_running_loop()
        pool = self._pool()
        await asyncio.gather(*(loop.run_in_executor(pool, _noop) for _ in range(self.workers)))

    async def stop(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
