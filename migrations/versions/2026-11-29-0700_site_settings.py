"""site_settings: settings admins change at run time (the default domain's redirects)

The default domain has no row in `domains`; where its root, its unknown keys and its ended
links send visitors is kept here, one row a setting. No row: as before (the home page, 404, 410).

Revision ID: 5e77a1c0d14b
Revises: 3c9f2e7a1d08
Create Date: 2026-11-29 06:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '5e77a1c0d14b'
down_revision: Union[str, Sequence[str], None] = '3c9f2e7a1d08'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('site_settings',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=2048), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_site_settings')),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('site_settings')
