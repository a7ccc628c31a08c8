"""The daily visitor salt: random, one per UTC day, shared by every worker through the database.

Each worker asks the database once a day (insert-if-absent, then read, so every worker ends up
with the same salt) and keeps the answer in memory; a click never costs a query. Salts older
than yesterday are deleted when a day's salt is made: once gone, nobody (not even whoever holds
the database) can recompute a visitor's hash from an IP address and a user agent.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shortener.models import VisitorSalt

SECONDS_PER_DAY = 86_400


def day_of(ts: float) -> int:
    return int(ts // SECONDS_PER_DAY)


def visitor_hash(salt: str, ip: str, user_agent: str) -> str:
    # NUL separators keep ("1.2.3.4", "5x") and ("1.2.3.45", "x") apart.
    data = f"{salt}\0{ip}\0{user_agent}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(data).hexdigest()


class SaltProvider:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._salts: dict[int, str] = {}
        self._lock = asyncio.Lock()

    async def salt_for(self, day: int) -> str:
        salt = self._salts.get(day)
        if salt is not None:
            return salt
        async with self._lock:  # one query per day and worker, however many clicks wait
            salt = self._salts.get(day)
            if salt is None:
                salt = await self._fetch(day)
                self._salts = {d: s for d, s in self._salts.items() if d >= day - 1}
                self._salts[day] = salt
            return salt

    async def _fetch(self, day: int) -> str:
        async with self._sessionmaker() as session, session.begin():
            insert = (
                postgresql.insert
                if session.get_bind().dialect.name == "postgresql"
                else sqlite.insert
            )
            await session.execute(
                insert(VisitorSalt)
                .values(day=day, salt=secrets.token_hex(32))
                .on_conflict_do_nothing(index_elements=["day"])
            )
            salt = (
                await session.execute(
                    select(col(VisitorSalt.salt)).where(col(VisitorSalt.day) == day)
                )
            ).scalar_one()
            await session.execute(delete(VisitorSalt).where(col(VisitorSalt.day) < day - 1))
        return str(salt)
