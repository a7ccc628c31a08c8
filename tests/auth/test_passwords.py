"""Passwords are hashed with Argon2id at RFC 9106's low-memory parameters.

The rest of the suite hashes with argon2's CHEAPEST profile (tests/conftest.py); this test
asks a process of its own, configured as the service is, which parameters it uses.
"""

import subprocess
import sys

import argon2

from shortener.auth.passwords import PRODUCTION_PARAMETERS

_HASH_ONE = (
    "import asyncio\n"
    "from shortener.auth.passwords import hash_password, verify_password\n"
    "hashed = asyncio.run(hash_password('correct horse battery'))\n"
    "assert asyncio.run(verify_password('correct horse battery', hashed))\n"
    "assert not asyncio.run(verify_password('wrong horse battery', hashed))\n"
    "print(hashed)\n"
)


def test_the_service_hashes_with_rfc9106_low_memory_argon2id() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _HASH_ONE], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out.startswith("$argon2id$")
    assert argon2.extract_parameters(out) == PRODUCTION_PARAMETERS
    assert PRODUCTION_PARAMETERS == argon2.profiles.RFC_9106_LOW_MEMORY
    assert PRODUCTION_PARAMETERS.memory_cost == 64 * 1024 and PRODUCTION_PARAMETERS.time_cost == 3
