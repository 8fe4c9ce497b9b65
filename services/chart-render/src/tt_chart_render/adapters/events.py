"""Direct publishing for a stateless service (DESIGN §5): to the route's stream, waiting for the
PubAck, with ``Nats-Msg-Id`` = message id so a re-announcement inside the duplicate window is absorbed.
A failed publish raises ``TransientError``: the command is nacked and redone (the render itself is then
a cache hit)."""

from __future__ import annotations

from tt_contracts import Event, Route
from tt_runtime.errors import PermanentError, TransientError
from tt_runtime.service import ServiceRuntime


class DirectPublisher:
    def __init__(self, runtime: ServiceRuntime, timeout: float = 5.0) -> None:
        self.runtime = runtime
        self.timeout = timeout

    async def __call__(self, route: Route, event: Event, **keys: str) -> None:
        if not isinstance(event, route.model) or self.runtime.service not in route.producers:
            raise PermanentError(
                f"chart-render cannot publish {type(event).__name__} on {route.subject.base}"
            )
        stream = route.stream
        assert stream is not None, route.subject.base
        headers = {
            "Nats-Msg-Id": str(event.message_id),
            "message_id": str(event.message_id),
            "content-type": "application/json",
        }
        if event.correlation_id:
            headers["correlation_id"] = str(event.correlation_id)
        try:
            await self.runtime.jetstream().publish(
                route.subject.render(**keys),
                event.model_dump_json().encode(),
                stream=stream.name,
                headers=headers,
                timeout=self.timeout,
            )
        except Exception as exc:
            raise TransientError(f"publishing {route.subject.base} failed: {exc!r}") from exc
