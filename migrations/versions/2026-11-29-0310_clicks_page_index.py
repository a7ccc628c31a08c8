"""clicks: index (link_id, clicked_at, id) for paging a link's raw clicks

Shlink's API pages a link's raw clicks newest first (pages of 5,000, four at a time, in its
web client). With `id` in the index, a deep page's ids are found on the index alone (an
index-only scan in PostgreSQL, a covering index in SQLite), so page 200 of a million clicks
costs milliseconds, not a sort of the million. It replaces (link_id, clicked_at), which it
covers: the click writer still maintains one index on this table, not two.

Revision ID: 7d3e1a9c5b42
Revises: d0a1b2c3e4f5
Create Date: 2026-11-29 03:00:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '7d3e1a9c5b42'
down_revision: Union[str, Sequence[str], None] = 'd0a1b2c3e4f5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index(
        'ix_clicks_link_id_clicked_at_id', 'clicks', ['link_id', 'clicked_at', 'id'], unique=False
    )
    op.drop_index('ix_clicks_link_id_clicked_at', table_name='clicks')


def downgrade() -> None:
    op.create_index(
        'ix_clicks_link_id_clicked_at', 'clicks', ['link_id', 'clicked_at'], unique=False
    )
    op.drop_index('ix_clicks_link_id_clicked_at_id', table_name='clicks')
