"""links.bot_clicks: bots' clicks counted apart from people's

`links.clicks` counted every click, bots' too, while the statistics and the dashboard's
overview leave bots out by default: one link showed two figures. From here `clicks` counts
people and `bot_clicks` bots. Existing counters are split by the rollups, which keep every
click ever written (retention deletes raw clicks only).

Revision ID: 7d1e4b2a9c55
Revises: 7d3e1a9c5b42
Create Date: 2026-11-29 03:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '7d1e4b2a9c55'
down_revision: Union[str, Sequence[str], None] = '7d3e1a9c5b42'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BOTS = (
    "(SELECT COALESCE(SUM(r.clicks), 0) FROM click_rollups r "
    "WHERE r.link_id = links.id AND r.is_bot)"
)


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(
            sa.Column("bot_clicks", sa.BigInteger(), nullable=False, server_default="0")
        )
    # Both SET expressions read the row as it was: clicks loses what bot_clicks gains.
    op.execute(
        f"UPDATE links SET bot_clicks = {BOTS}, "  # noqa: S608 (constants only)
        f"clicks = CASE WHEN clicks > {BOTS} THEN clicks - {BOTS} ELSE 0 END"
    )


def downgrade() -> None:
    op.execute("UPDATE links SET clicks = clicks + bot_clicks")
    with op.batch_alter_table("links") as batch:
        batch.drop_column("bot_clicks")
