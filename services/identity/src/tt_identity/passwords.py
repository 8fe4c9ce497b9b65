"""argon2id password hashing off the event loop, in a bounded pool.

64 MiB per hash (argon2-cffi's default profile) makes sign-in a memory-DoS vector, so at most
``password_hash_concurrency`` hashes run at once; the rest wait their turn.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .settings import Settings


def build_hasher(settings: Settings) -> PasswordHasher:
    default = PasswordHasher()
    return PasswordHasher(
        time_cost=settings.argon2_time_cost or default.time_cost,
        memory_cost=settings.argon2_memory_cost or default.memory_cost,
        parallelism=settings.argon2_parallelism or default.parallelism,
    )


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self.hasher = build_hasher(settings)
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, settings.password_hash_concurrency), thread_name_prefix="argon2"
        )
        # A real hash with the same parameters: verified against when the user is unknown, so the reply
        # takes as long as for a wrong password.
        self._dummy = self.hasher.hash("dummy password that matches nothing -- timing equaliser")

    @property
    def parameters(self) -> tuple[int, int, int]:
        return self.hasher.time_cost, self.hasher.memory_cost, self.hasher.parallelism

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.hasher.hash, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored``; a None ``stored`` costs one dummy verification."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._verify, stored, password)

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
