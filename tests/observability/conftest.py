"""`serve`: `shortener serve` subprocesses, always stopped (shared with the reliability tests)."""

from tests.reliability.conftest import serve

__all__ = ["serve"]
