"""The consumer error policy, as a faststream middleware.

faststream's default for NATS terminates a message on any exception (``REJECT_ON_ERROR``): it is
silently gone. Here instead:

* a transient error (``TransientError`` or anything unexpected) is nacked with a delay that grows
  with the delivery count, so it comes back later;
* a permanent error (validation, ``PermanentError``) and the last allowed delivery write a
  ``dead_letter`` row and then reject (``+TERM``);
* if the dead letter cannot be written (database down), the message is nacked instead: nothing is
  ever dropped without a record.

Core request-reply messages have no redelivery: their failures become an ``ErrorReply``.
"""

from __future__ import annotations

import json
import random
from functools import partial
from typing import Any

import structlog
from faststream import BaseMiddleware
from faststream.exceptions import HandlerException, NackMessage, RejectMessage
from pydantic import ValidationError

from tt_contracts import ErrorDetail, ErrorReply

from .dead_letters import DeadLetterStore
from .errors import PermanentError, TradeTrackerError, TransientError
from .settings import RuntimeSettings
from .telemetry import Telemetry

log = structlog.get_logger(__name__)

PERMANENT_TYPES: tuple[type[BaseException], ...] = (
    PermanentError,
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
)


def is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, PERMANENT_TYPES):
        return True
    # fast-depends wraps argument validation failures in its own error type.
    return type(exc).__name__ == "ValidationError"


def nack_delay(deliveries: int, base: float, cap: float, retry_after: float | None = None) -> float:
    if retry_after is not None:
        return min(cap, retry_after)
    return min(cap, base * 2 ** max(0, deliveries - 1)) * (0.9 + 0.2 * random.random())


def error_reply(exc: BaseException) -> ErrorReply:
    if isinstance(exc, TradeTrackerError):
        code, message = exc.code, str(exc)
    elif is_permanent(exc):
        code, message = "invalid", _validation_summary(exc)
    else:
        code, message = "internal", "the service failed to handle the request"
    return ErrorReply(
        error=ErrorDetail(code=code, message=message, retryable=isinstance(exc, TransientError))
    )


def _validation_summary(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        return "; ".join(parts)
    return str(exc)[:500]


class ErrorPolicy:
    """Decides the fate of a failed JetStream message; shared by every subscriber of a service."""

    def __init__(self, settings: RuntimeSettings, dead_letters: DeadLetterStore, telemetry: Telemetry | None):
        self.settings = settings
        self.dead_letters = dead_letters
        self.telemetry = telemetry

    def middleware(self) -> Any:
        return partial(ErrorPolicyMiddleware, policy=self)

    async def fail(self, raw: Any, exc: BaseException) -> HandlerException:
        """``raw`` is the nats-py message; returns the exception that tells faststream what to do."""
        meta = raw.metadata
        deliveries = meta.num_delivered
        consumer = meta.consumer
        permanent = is_permanent(exc)
        last = deliveries >= self.settings.max_deliver
        if not permanent and not last:
            delay = nack_delay(
                deliveries,
                self.settings.nack_base_delay_seconds,
                self.settings.nack_max_delay_seconds,
                getattr(exc, "retry_after", None),
            )
            log.warning(
                "handler failed; will retry",
                consumer=consumer,
                deliveries=deliveries,
                retry_in=round(delay, 3),
                error=repr(exc),
            )
            return NackMessage(delay=delay)
        try:
            letter_id = await self.dead_letters.add(
                consumer=consumer,
                subject=raw.subject,
                stream=meta.stream,
                stream_seq=meta.sequence.stream,
                message_id=(raw.headers or {}).get("Nats-Msg-Id") or (raw.headers or {}).get("message_id"),
                headers=dict(raw.headers or {}),
                payload=raw.data,
                error=exc,
                deliveries=deliveries,
            )
        except Exception as store_exc:
            # Without a record we may not let go of the message: the consumer allows
            # ``dead_letter_retries`` more deliveries, each retrying the dead-letter write.
            log.error(
                "dead letter not stored; message kept for another delivery",
                consumer=consumer,
                deliveries=deliveries,
                error=repr(store_exc),
            )
            return NackMessage(delay=self.settings.nack_max_delay_seconds)
        if self.telemetry is not None:
            self.telemetry.dead_letters.labels(self.settings.service_name, consumer).inc()
        log.error(
            "message dead-lettered",
            consumer=consumer,
            dead_letter_id=letter_id,
            deliveries=deliveries,
            reason="permanent" if permanent else "max_deliver",
            error=repr(exc),
        )
        return RejectMessage()


def _is_jetstream(raw: Any) -> bool:
    reply = getattr(raw, "reply", "") or ""
    return reply.startswith("$JS.ACK.")


class ErrorPolicyMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, policy: ErrorPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy
        self._handled = False

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        structlog.contextvars.bind_contextvars(
            subject=getattr(msg.raw_message, "subject", None),
            message_id=msg.message_id,
            correlation_id=msg.correlation_id,
        )
        try:
            return await call_next(msg)
        except HandlerException:
            raise
        except Exception as exc:
            self._handled = True
            if not _is_jetstream(msg.raw_message):
                log.warning("request failed", error=repr(exc))
                return error_reply(exc)
            raise await self.policy.fail(msg.raw_message, exc) from exc
        finally:
            structlog.contextvars.unbind_contextvars("subject", "message_id", "correlation_id")

    async def after_processed(self, exc_type=None, exc_val=None, exc_tb=None) -> bool | None:
        # Failures before the handler ran (body parsing) never reach consume_scope.
        if exc_val is None or self._handled or isinstance(exc_val, HandlerException):
            return False
        if not isinstance(exc_val, Exception):
            return False
        if not _is_jetstream(self.msg):
            log.warning("message failed before its handler", error=repr(exc_val))
            return False
        raise await self.policy.fail(self.msg, exc_val) from exc_val
