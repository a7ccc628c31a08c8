"""Reading the audit log straight from the database, for the tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from shortener.models import AuditEvent


async def events(app: Any, **where: Any) -> list[AuditEvent]:
    """Every event matching `where` (column=value), oldest first."""
    query = select(AuditEvent).order_by(col(AuditEvent.id))
    for name, value in where.items():
        column = col(getattr(AuditEvent, name))
        query = query.where(column.is_(None) if value is None else column == value)
    async with app.runtime.sessionmaker() as session:
        return list((await session.execute(query)).scalars())


async def actions_of(app: Any, email: str) -> list[str]:
    return [event.action for event in await events(app, actor=email)]
