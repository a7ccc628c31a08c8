"""audit_events: the audit log (who did what, when, from which /24 or /48)

Revision ID: 5a8c1e3f7b20
Revises: 5e77a1c0d14b
Create Date: 2026-11-29 07:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from shortener.models import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = '5a8c1e3f7b20'
down_revision: Union[str, Sequence[str], None] = '5e77a1c0d14b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=320), nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=300), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.Column('ip_prefix', sa.String(length=50), nullable=True),
        sa.Column('workspace_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['users.id'],
            name=op.f('fk_audit_events_actor_id_users'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_audit_events_at'), 'audit_events', ['at'], unique=False)
    op.create_index(op.f('ix_audit_events_action'), 'audit_events', ['action'], unique=False)
    op.create_index(op.f('ix_audit_events_actor_id'), 'audit_events', ['actor_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_events_actor_id'), table_name='audit_events')
    op.drop_index(op.f('ix_audit_events_action'), table_name='audit_events')
    op.drop_index(op.f('ix_audit_events_at'), table_name='audit_events')
    op.drop_table('audit_events')
