"""ids never reused (SQLite AUTOINCREMENT) and auth_sessions

Without AUTOINCREMENT, SQLite gives the highest deleted id to the next row: a deleted user's
still-valid token then signed in as the next account registered, and a deleted link's open
live feed received the next link's visits. PostgreSQL's serial columns never reuse an id, so
there the only change is the new table.

Revision ID: 5a7c2e9d1f30
Revises: bc36143aaedd
Create Date: 2026-11-28 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shortener.models  # noqa: F401 - custom column types (UTCDateTime)


# revision identifiers, used by Alembic.
revision: str = '5a7c2e9d1f30'
down_revision: Union[str, Sequence[str], None] = 'bc36143aaedd'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Every table whose id leaves the database (tokens, URLs, API answers, live streams).
TABLES = ("users", "links", "api_keys", "webhooks", "webhook_deliveries")


def _rebuild_on_sqlite(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # Rebuilding a table drops the old one; with foreign keys enforced, that drop would
    # cascade into every referencing table (a users rebuild would delete every link).
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("run this migration with PRAGMA foreign_keys=OFF (Alembic's env does)")
    for table in TABLES:
        # The copy keeps every row and its id; AUTOINCREMENT then continues above the
        # highest id present.
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    """Upgrade schema."""
    _rebuild_on_sqlite(autoincrement=True)
    op.create_table('auth_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', shortener.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', shortener.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', shortener.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auth_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_sessions')),
    sa.UniqueConstraint('sid', name=op.f('uq_auth_sessions_sid')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_sessions_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_sessions_user_id'))
    op.drop_table('auth_sessions')
    _rebuild_on_sqlite(autoincrement=False)
