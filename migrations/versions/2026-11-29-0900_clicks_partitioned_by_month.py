"""clicks: partitioned by month on PostgreSQL (retention drops whole months)

The table is rebuilt: renamed aside, a partitioned `clicks` made with a partition for every
month from its oldest click to AHEAD_MONTHS past this one plus a default one, the rows copied,
then the primary key (now (id, clicked_at): a partitioned table's unique keys must hold the
partition column), the foreign key and the indexes built once the rows are in (faster than
maintaining them row by row), and the old table dropped. Click ids are strings made at the
redirect, so there is no sequence to carry over. SQLite keeps its one table.

Revision ID: 3c7d9a1e5f60
Revises: 5a8c1e3f7b20
Create Date: 2026-11-29 09:00:00

"""
from datetime import UTC, datetime
from typing import Sequence, Union

from alembic import op
from sqlalchemy import text

from shortener.clicks.partitions import AHEAD_MONTHS, DEFAULT, Month, create_month, month_range

# revision identifiers, used by Alembic.
revision: str = '3c7d9a1e5f60'
down_revision: Union[str, Sequence[str], None] = '5a8c1e3f7b20'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = (
    "id varchar(32) NOT NULL, link_id integer NOT NULL, clicked_at timestamptz NOT NULL, "
    "referrer_host varchar(255), country varchar(2), browser varchar(64), os varchar(64), "
    "device varchar(16), is_bot boolean NOT NULL, visitor_hash varchar(64), variant integer"
)
NAMES = (
    "id, link_id, clicked_at, referrer_host, country, browser, os, device, is_bot, "
    "visitor_hash, variant"
)


def _set_aside(name: str) -> None:
    """Rename `clicks` and its indexes (whose names are schema-wide) out of the way."""
    op.execute(f"ALTER TABLE clicks RENAME TO {name}")
    for index in ("pk_clicks", "ix_clicks_clicked_at", "ix_clicks_link_id_clicked_at_id"):
        op.execute(f"ALTER INDEX {index} RENAME TO {index}_{name}")


def _keys_and_indexes(primary_key: str) -> None:
    op.execute(f"ALTER TABLE clicks ADD CONSTRAINT pk_clicks PRIMARY KEY ({primary_key})")
    op.execute(
        "ALTER TABLE clicks ADD CONSTRAINT fk_clicks_link_id_links FOREIGN KEY (link_id) "
        "REFERENCES links (id) ON DELETE CASCADE"
    )
    op.execute("CREATE INDEX ix_clicks_clicked_at ON clicks (clicked_at)")
    op.execute(
        "CREATE INDEX ix_clicks_link_id_clicked_at_id ON clicks (link_id, clicked_at, id)"
    )


def upgrade() -> None:
    _rebuild(partitioned=True)


def downgrade() -> None:
    _rebuild(partitioned=False)


def _rebuild(*, partitioned: bool) -> None:
    """Copy clicks into a new table, partitioned by month or not, and drop the old one."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    old = "clicks_unpartitioned" if partitioned else "clicks_partitioned"
    _set_aside(old)
    by_month = " PARTITION BY RANGE (clicked_at)" if partitioned else ""
    op.execute(f"CREATE TABLE clicks ({COLUMNS}){by_month}")
    if partitioned:
        op.execute(f"CREATE TABLE {DEFAULT} PARTITION OF clicks DEFAULT")
        oldest = bind.execute(text(f"SELECT min(clicked_at) FROM {old}")).scalar()
        this = Month.of(datetime.now(UTC))
        first = min(Month.of(oldest), this) if oldest is not None else this
        for month in month_range(first, this.plus(AHEAD_MONTHS)):
            create_month(bind, month)
    op.execute(f"INSERT INTO clicks ({NAMES}) SELECT {NAMES} FROM {old}")
    op.execute(f"DROP TABLE {old}")  # with its partitions, if any
    _keys_and_indexes("id, clicked_at" if partitioned else "id")
