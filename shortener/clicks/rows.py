"""Click rows shared by the link-click writer (writer.py) and the orphan-visit one (orphans.py):
what a record becomes once its user agent and referrer are read, and the counter upserts."""

from __future__ import annotations

import functools
import operator
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
    """Add each row's counters to the row of its primary key, made when missing: one statement
    of fixed text, run by the driver itself.

    With clicks spread over many links a batch upserts a dozen rows a click. Through SQLAlchemy
    (insertmanyvalues) PostgreSQL got a new multi-row statement to parse and plan for every page
    of rows, and spent more CPU on that than on the rows (bench/click_pipeline_bench.py
    --links); on PostgreSQL the batch is one array a column (`unnest`), on SQLite one prepared
    statement run for each row. Rows are written in the order given: callers sort them by key,
    so that concurrent writers lock rows in the same order."""
    if not rows:
        return
    columns = tuple(rows[0])
    sql = upsert_sql(dialect, model, columns, counters)
    conn = session.connection()
    if dialect == "postgresql":
        conn.exec_driver_sql(sql, tuple([row[name] for row in rows] for name in columns))
    else:
        values = operator.itemgetter(*columns)  # two columns at least: a tuple each
        conn.exec_driver_sql(sql, [values(row) for row in rows])


@functools.cache
def upsert_sql(
    dialect: str, model: type[SQLModel], columns: tuple[str, ...], counters: tuple[str, ...]
) -> str:
    table = table_of(model)
    if unknown := set(columns) - set(table.c.keys()):
        raise ValueError(f"{table.name} has no columns {sorted(unknown)}")
    name = table.name
    keys = ", ".join(c.name for c in table.primary_key.columns)
    adds = ", ".join(f"{c} = {name}.{c} + excluded.{c}" for c in counters)
    if dialect == "postgresql":
        pg = postgresql.dialect()  # type: ignore[no-untyped-call]
        arrays = ", ".join(
            f"${i}::{table.c[c].type.compile(dialect=pg)}[]" for i, c in enumerate(columns, 1)
        )
        values = f"SELECT * FROM unnest({arrays})"  # noqa: S608 (names and types from models)
    else:
        values = f"VALUES ({', '.join('?' * len(columns))})"
    return (
        f"INSERT INTO {name} ({', '.join(columns)}) {values} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {adds}"
    )


def table_of(model: type[SQLModel]) -> Any:
    return model.__table__  # type: ignore[attr-defined]


def _is_bot(click: ClickRecord, parsed: bool) -> bool:
    said = click.is_bot if isinstance(click, ImportedClick) else None
    return parsed if said is None else said
