"""Helpers to run services inside a test's event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

from ..service import ServiceRuntime
from ..settings import RuntimeSettings

S = TypeVar("S", bound=RuntimeSettings)


def service_settings(
    service: str, nats_url: str, database_url: str, cls: type[S] = RuntimeSettings, **overrides: Any
) -> S:
    """Settings for a service under test: test environment, quiet JSON logs, fast retries."""
    values: dict[str, Any] = dict(
        service_name=service,
        nats_url=nats_url,
        database_url=database_url,
        environment="test",
        log_json=True,
        log_level="WARNING",
        nack_base_delay_seconds=0.05,
        nack_max_delay_seconds=1.0,
        relay_poll_seconds=0.2,
        # A delivery that a starved client never read comes back after ack_wait: keep it short in tests.
        ack_wait_seconds=5.0,
    )
    values.update(overrides)
    return cls(**values)


@asynccontextmanager
async def running(*runtimes: ServiceRuntime) -> AsyncIterator[tuple[ServiceRuntime, ...]]:
    """Start runtimes (broker + relay) and stop them in reverse order."""
    async with AsyncExitStack() as stack:
        for runtime in runtimes:
            await runtime.start()
            stack.push_async_callback(runtime.stop)
        yield runtimes


async def wait_until(
    predicate: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0, interval: float = 0.05
) -> float:
    """Poll until ``predicate`` is true; returns the seconds waited. Raises TimeoutError with no result."""
    started = time.monotonic()
    while True:
        result = predicate()
        if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn inside this event loop (lifespan included); yields its base URL."""
    import uvicorn

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started or task.done(), timeout=30)
        if task.done():
            task.result()
            raise RuntimeError("server exited during startup")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
