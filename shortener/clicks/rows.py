"""Click rows shared by the link-click writer (writer.py) and the orphan-visit one (orphans.py):
what a record becomes once its user agent and referrer are read, and the counter upserts."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from shortener.clicks.enrich import Agent, parse_agent, referrer_host
from shortener.clicks.events import ClickRecord, ImportedClick

DIMENSIONS = ("referrer", "country", "browser", "os", "device")


def insert_for(dialect: str) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert


def enrich_rows(clicks: Sequence[ClickRecord]) -> list[dict[str, Any]]:
    agents: dict[str, Agent] = {}
    rows = []
    for click in clicks:
        agent = agents.get(click.user_agent)
        if agent is None:
            agent = agents[click.user_agent] = parse_agent(click.user_agent)
        rows.append(
            {
                "id": click.id,
                "link_id": click.link_id,
                "clicked_at": datetime.fromtimestamp(click.ts, UTC),
                "referrer_host": referrer_host(click.referrer),
                "country": click.country,
                "browser": agent.browser,
                "os": agent.os,
                "device": agent.device,
                "is_bot": _is_bot(click, agent.is_bot),
                "visitor_hash": click.visitor_hash,
                "variant": click.variant,
                "hour": int(click.ts // 3600),  # for the rollups, not a column
            }
        )
    return rows


def upsert(
    session: Session,
    dialect: str,
    model: type[SQLModel],
    rows: list[dict[str, Any]],
    counters: tuple[str, ...],
) -> None:
    if rows:
        session.execute(upsert_statement(dialect, model, counters), rows)


@functools.cache
def upsert_statement(dialect: str, model: type[SQLModel], counters: tuple[str, ...]) -> Any:
    # Built once: making `excluded` and the SET clause costs more than the batch's rows do.
    table = table_of(model)
    stmt = insert_for(dialect)(table)
    return stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={name: table.c[name] + stmt.excluded[name] for name in counters},
    )


def table_of(model: type[SQLModel]) -> Any:
    return model.__table__  # type: ignore[attr-defined]


def _is_bot(click: ClickRecord, parsed: bool) -> bool:
    said = click.is_bot if isinstance(click, ImportedClick) else None
    return parsed if said is None else said
