"""domains: custom short-link domains; link keys unique per domain

Every existing link stays on the default domain (domain_id NULL): the unique key constraint
becomes (domain_id, key) plus a partial unique index on key for the default domain.

Revision ID: d0a1b2c3e4f5
Revises: 388ea56aee12
Create Date: 2026-11-29 03:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shortener.models  # noqa: F401 - custom column types (UTCDateTime)


# revision identifiers, used by Alembic.
revision: str = 'd0a1b2c3e4f5'
down_revision: Union[str, Sequence[str], None] = '388ea56aee12'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_DEFAULT_ONLY = sa.text("domain_id IS NULL")


class _KeepSqliteSequence:
    """SQLite rebuilds `links` to change its constraints: keep AUTOINCREMENT and the highest id
    ever handed out (a deleted link's id must not come back with the copy)."""

    def __init__(self) -> None:
        self.bind = op.get_bind()
        self.sqlite = self.bind.dialect.name == "sqlite"
        self.seq = None

    def __enter__(self) -> dict:
        if self.sqlite:
            self.seq = self.bind.exec_driver_sql(
                "SELECT seq FROM sqlite_sequence WHERE name = 'links'"
            ).scalar()
            return {"table_kwargs": {"sqlite_autoincrement": True}, "recreate": "always"}
        return {}

    def __exit__(self, *exc: object) -> None:
        if self.sqlite and self.seq is not None and exc[0] is None:
            self.bind.exec_driver_sql(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'links'", (self.seq,)
            )


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hostname', sa.String(length=253), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('verification_token', sa.String(length=64), nullable=False),
    sa.Column('root_url', sa.String(length=2048), nullable=True),
    sa.Column('not_found_url', sa.String(length=2048), nullable=True),
    sa.Column('expired_url', sa.String(length=2048), nullable=True),
    sa.Column('created_at', shortener.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_domains_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domains')),
    sa.UniqueConstraint('hostname', name=op.f('uq_domains_hostname')),
    sa.UniqueConstraint('verification_token', name=op.f('uq_domains_verification_token')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_domains_owner_id'), ['owner_id'], unique=False)

    with _KeepSqliteSequence() as kwargs, op.batch_alter_table('links', **kwargs) as batch_op:
        batch_op.add_column(sa.Column('domain_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_links_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_links_domain_id_key'), ['domain_id', 'key'])
        batch_op.create_foreign_key(batch_op.f('fk_links_domain_id_domains'), 'domains', ['domain_id'], ['id'])
    op.create_index(
        'uq_links_key_default_domain', 'links', ['key'], unique=True,
        sqlite_where=_DEFAULT_ONLY, postgresql_where=_DEFAULT_ONLY,
    )


def downgrade() -> None:
    """Downgrade schema (refused by the database while two domains share a key)."""
    op.drop_index('uq_links_key_default_domain', table_name='links')
    with _KeepSqliteSequence() as kwargs, op.batch_alter_table('links', **kwargs) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_links_domain_id_domains'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_links_domain_id_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_links_key'), ['key'])
        batch_op.drop_column('domain_id')

    with op.batch_alter_table('domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_domains_owner_id'))

    op.drop_table('domains')
