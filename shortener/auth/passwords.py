"""Argon2id password hashing, run in a thread so hashing never blocks the event loop."""

from __future__ import annotations

import anyio.to_thread
from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommendation (t=3, m=64 MiB, p=4), argon2-cffi's default: the first
# needs 2 GiB a hash, too much for a small server signing several users in at once.
PRODUCTION_PARAMETERS = profiles.RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(PRODUCTION_PARAMETERS)
# Verified against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not a real password, only spends the same time")


def use_parameters(parameters: Parameters) -> None:
    """Hash new passwords with other Argon2 parameters (existing hashes carry their own).

    For the test suite, which hashes thousands of passwords: with argon2's CHEAPEST profile
    the same code runs in microseconds instead of ~0.25 s of CPU each. The service itself
    never calls this."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher.from_parameters(parameters)
    _DUMMY_HASH = _hasher.hash("not a real password, only spends the same time")


MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)
