"""Base message types every contract derives from.

Wire rules (see contracts/README.md): models are frozen, ignore unknown fields (tolerant reader),
carry their own identity and causality, and use Decimal for money, prices and sizes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar
from uuid import UUID, uuid4

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, SecretStr


def utcnow() -> datetime:
    return datetime.now(UTC)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware timestamp, normalised to UTC. Naive datetimes are refused."""

# A secret that travels to its owner in clear JSON but stays masked in repr, str and logs. Plain
# ``SecretStr`` serialises as "**********": the receiver would get the mask, not the secret. Only
# requests to the service that owns the secret carry one (never events, which are stored).
WireSecret = Annotated[
    SecretStr, PlainSerializer(lambda v: v.get_secret_value(), return_type=str, when_used="json")
]

# Decimals travel as JSON strings so no float ever touches money.
Money = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]
Price = Money
Size = Money
Credits = Money


class Message(BaseModel):
    """Common envelope fields. ``message_id`` is also sent as the ``Nats-Msg-Id`` header."""

    model_config = ConfigDict(frozen=True, extra="ignore", ser_json_timedelta="float")

    kind: ClassVar[str] = "message"

    message_id: UUID = Field(default_factory=uuid4, description="Unique id; JetStream de-duplication key")
    occurred_at: UtcDatetime = Field(
        default_factory=utcnow, description="When the fact or intent arose (UTC)"
    )
    producer: str = Field(default="", description="Service that produced the message")
    correlation_id: UUID | None = Field(default=None, description="Id shared by every message of one flow")
    causation_id: UUID | None = Field(default=None, description="message_id of the message that caused this")

    def caused(self, **fields: Any) -> dict[str, Any]:
        """Causality fields for a message produced in reaction to this one."""
        return {
            "correlation_id": self.correlation_id or self.message_id,
            "causation_id": self.message_id,
            **fields,
        }


class Event(Message):
    """A fact, past tense, published only by the domain that owns it."""

    kind: ClassVar[str] = "evt"


class Command(Message):
    """An intent handled by exactly one owner. Stale commands (past ``expires_at``) must be refused."""

    kind: ClassVar[str] = "cmd"

    expires_at: UtcDatetime | None = Field(default=None, description="Refuse to act after this instant")

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and (now or utcnow()) >= self.expires_at


class Request(Message):
    """A synchronous query over core request-reply. Answered by a ``Reply`` or an ``ErrorReply``."""

    kind: ClassVar[str] = "req"


class Reply(BaseModel):
    """Answer to a request."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str = Field(description="Stable machine-readable code, e.g. 'not_found', 'invalid', 'unavailable'")
    message: str = Field(description="Human-readable explanation, safe to show")
    retryable: bool = False


class ErrorReply(Reply):
    """The one shape of a failed request."""

    error: ErrorDetail


class UserScoped(BaseModel):
    """Mixin: the user is always explicit; every handler checks ownership in its own data."""

    user_id: UUID
