"""Pure identity rules: password policy, lockout back-off, devices, roles, the audit hash chain.

No broker, database or HTTP here (a test enforces it).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
ROLES = ("trader", "support", "admin")
DEFAULT_ROLES = ("trader",)
GENESIS_HASH = "0" * 64


# --- passwords ---------------------------------------------------------------------------------------


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list (``common_passwords.txt``): a short curated list of the most common passwords."""
    text = resources.files("tt_identity").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _classes(password: str) -> int:
    return sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Why ``password`` is refused; empty when it is acceptable."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters")
    if password and _classes(password) < 2:
        problems.append("must not be all one kind of character (mix letters, digits or symbols)")
    lowered = password.lower()
    if lowered in common_passwords() or re.sub(r"[\d\W_]+$", "", lowered) in common_passwords():
        problems.append("is too common")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        problems.append("must not contain your email address")
    return problems


# --- lockout -----------------------------------------------------------------------------------------


def lock_duration(failed_count: int, *, threshold: int, base: float, cap: float) -> timedelta | None:
    """Exponential back-off once ``threshold`` consecutive failures are reached: base, 2·base, … ≤ cap."""
    if failed_count < threshold:
        return None
    seconds = min(cap, base * 2 ** (failed_count - threshold))
    return timedelta(seconds=seconds)


# --- sessions ----------------------------------------------------------------------------------------

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-httpx", "httpx"),
    ("python-requests", "requests"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str | None) -> str:
    """A short human label (``Firefox on Linux``) from a user agent; ``Unknown device`` when empty."""
    if not user_agent:
        return "Unknown device"
    browser = next((name for token, name in _BROWSERS if token in user_agent), "")
    system = next((name for token, name in _SYSTEMS if token in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"


# --- roles -------------------------------------------------------------------------------------------


def can_list_users(roles: list[str]) -> bool:
    return "admin" in roles or "support" in roles


def can_set_roles(roles: list[str]) -> bool:
    return "admin" in roles


def can_read_any_audit(roles: list[str]) -> bool:
    return "admin" in roles or "support" in roles


def normalise_roles(roles: list[str]) -> list[str]:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    return [r for r in ROLES if r in roles]


# --- audit chain -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime
    action: str
    actor_user_id: str | None
    subject_user_id: str | None
    ip: str | None
    user_agent: str | None
    outcome: str
    detail: dict[str, str]

    def canonical(self) -> bytes:
        """The row as deterministic JSON (sorted keys, microsecond UTC time)."""
        body: dict[str, Any] = {
            "seq": self.seq,
            "at": self.at.isoformat(timespec="microseconds"),
            "action": self.action,
            "actor_user_id": self.actor_user_id,
            "subject_user_id": self.subject_user_id,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "outcome": self.outcome,
            "detail": dict(sorted(self.detail.items())),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, record: AuditRecord) -> str:
    return hashlib.sha256(prev_hash.encode() + record.canonical()).hexdigest()


def verify_chain(rows: list[tuple[AuditRecord, str, str]]) -> int | None:
    """``rows`` = (record, prev_hash, hash) in seq order, contiguous. Returns the first bad seq or None."""
    expected_prev: str | None = None
    for record, prev_hash, stored in rows:
        if expected_prev is not None and prev_hash != expected_prev:
            return record.seq
        if chain_hash(prev_hash, record) != stored:
            return record.seq
        expected_prev = stored
    return None


# --- profile -----------------------------------------------------------------------------------------

_STEP = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def profile_problems(timezone: str, onboarding: list[str]) -> list[str]:
    from zoneinfo import available_timezones

    problems = []
    if timezone != "UTC" and timezone not in available_timezones():
        problems.append(f"unknown timezone {timezone!r}")
    if len(onboarding) > 32 or not all(_STEP.match(step) for step in onboarding):
        problems.append("onboarding steps must be at most 32 short lower-case names")
    return problems
