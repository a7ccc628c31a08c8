"""workspaces: links, domains, API keys and webhooks belong to a workspace; members have roles

Every existing user gets a personal workspace (slug from the e-mail address) and is its owner;
their links, domains, keys and webhooks move there. Shared domains (no owner) stay in none.

Revision ID: 7c4e9a2b1d30
Revises: 3c7d9a1e5f60
Create Date: 2026-11-29 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from shortener.models import UTCDateTime
from shortener.workspaces.slugs import personal_slug

# revision identifiers, used by Alembic.
revision: str = '7c4e9a2b1d30'
down_revision: Union[str, Sequence[str], None] = '3c7d9a1e5f60'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The tables that gain workspace_id, with the user column that tells whose they were.
_OWNED = (('links', 'owner_id'), ('domains', 'owner_id'), ('api_keys', 'user_id'), ('webhooks', 'user_id'))
_DEFAULT_ONLY = sa.text("domain_id IS NULL")


class _KeepSqliteSequence:
    """SQLite rebuilds the table to add a NOT NULL foreign key: keep AUTOINCREMENT and the
    highest id ever handed out (as in the domains revision)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.bind = op.get_bind()
        self.sqlite = self.bind.dialect.name == "sqlite"
        self.seq = None

    def __enter__(self) -> dict:
        if self.sqlite:
            self.seq = self.bind.exec_driver_sql(
                "SELECT seq FROM sqlite_sequence WHERE name = ?", (self.table,)
            ).scalar()
            return {"table_kwargs": {"sqlite_autoincrement": True}, "recreate": "always"}
        return {}

    def __exit__(self, *exc: object) -> None:
        if self.sqlite and self.seq is not None and exc[0] is None:
            self.bind.exec_driver_sql(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?",
                (self.seq, self.table),
            )


def upgrade() -> None:
    op.create_table(
        'workspaces',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('slug', sa.String(length=40), nullable=False),
        sa.Column('personal_user_id', sa.Integer(), nullable=True),
        sa.Column('require_two_factor', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['personal_user_id'], ['users.id'],
            name=op.f('fk_workspaces_personal_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workspaces')),
        sa.UniqueConstraint('slug', name=op.f('uq_workspaces_slug')),
        sa.UniqueConstraint('personal_user_id', name=op.f('uq_workspaces_personal_user_id')),
        sqlite_autoincrement=True,
    )
    op.create_table(
        'memberships',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('joined_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['workspace_id'], ['workspaces.id'],
            name=op.f('fk_memberships_workspace_id_workspaces'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
        sa.UniqueConstraint('workspace_id', 'user_id', name=op.f('uq_memberships_workspace_id_user_id')),
    )
    op.create_index(op.f('ix_memberships_user_id'), 'memberships', ['user_id'], unique=False)
    op.create_table(
        'invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('accepted_at', UTCDateTime(), nullable=True),
        sa.Column('accepted_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['workspace_id'], ['workspaces.id'],
            name=op.f('fk_invitations_workspace_id_workspaces'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['created_by'], ['users.id'], name=op.f('fk_invitations_created_by_users'), ondelete='SET NULL'
        ),
        sa.ForeignKeyConstraint(
            ['accepted_by'], ['users.id'], name=op.f('fk_invitations_accepted_by_users'), ondelete='SET NULL'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_invitations_token_hash')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_invitations_workspace_id'), 'invitations', ['workspace_id'], unique=False)

    _personal_workspaces()

    # The partial index may not survive SQLite's rebuild of `links`: made again after it.
    op.drop_index('uq_links_key_default_domain', table_name='links')
    op.drop_index('ix_links_owner_id_created_at_id', table_name='links')
    for table, user_column in _OWNED:
        with _KeepSqliteSequence(table) as kwargs, op.batch_alter_table(table, **kwargs) as batch_op:
            batch_op.add_column(sa.Column('workspace_id', sa.Integer(), nullable=True))
        op.execute(
            f"UPDATE {table} SET workspace_id = (SELECT w.id FROM workspaces w "
            f"WHERE w.personal_user_id = {table}.{user_column})"
        )
        with _KeepSqliteSequence(table) as kwargs, op.batch_alter_table(table, **kwargs) as batch_op:
            # Shared domains have no owner and stay in no workspace.
            batch_op.alter_column('workspace_id', existing_type=sa.Integer(), nullable=table == 'domains')
            batch_op.create_foreign_key(
                batch_op.f(f'fk_{table}_workspace_id_workspaces'), 'workspaces',
                ['workspace_id'], ['id'], ondelete='CASCADE',
            )
            if table != 'links':  # links: the composite index below leads with it
                batch_op.create_index(batch_op.f(f'ix_{table}_workspace_id'), ['workspace_id'], unique=False)
    op.create_index(
        'ix_links_workspace_id_created_at_id', 'links', ['workspace_id', 'created_at', 'id'], unique=False
    )
    op.create_index(
        'uq_links_key_default_domain', 'links', ['key'], unique=True,
        sqlite_where=_DEFAULT_ONLY, postgresql_where=_DEFAULT_ONLY,
    )


def _personal_workspaces() -> None:
    """One personal workspace per user, the user its owner (the same slug rule as sign-up);
    both made when the account was."""
    bind = op.get_bind()
    users = bind.execute(sa.text("SELECT id, email FROM users ORDER BY id")).all()
    taken: set[str] = set()
    for user_id, email in users:
        slug = personal_slug(email, taken.__contains__)
        taken.add(slug)
        bind.execute(
            sa.text(
                "INSERT INTO workspaces (name, slug, personal_user_id, require_two_factor, created_at) "
                "SELECT email, :slug, id, :no, created_at FROM users WHERE id = :user"
            ),
            {"slug": slug, "user": user_id, "no": False},
        )
    op.execute(
        "INSERT INTO memberships (workspace_id, user_id, role, joined_at) "
        "SELECT w.id, w.personal_user_id, 'owner', w.created_at FROM workspaces w"
    )


def downgrade() -> None:
    op.drop_index('uq_links_key_default_domain', table_name='links')
    op.drop_index('ix_links_workspace_id_created_at_id', table_name='links')
    for table, _ in reversed(_OWNED):
        with _KeepSqliteSequence(table) as kwargs, op.batch_alter_table(table, **kwargs) as batch_op:
            if table != 'links':
                batch_op.drop_index(batch_op.f(f'ix_{table}_workspace_id'))
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_workspace_id_workspaces'), type_='foreignkey')
            batch_op.drop_column('workspace_id')
    op.create_index(
        'ix_links_owner_id_created_at_id', 'links', ['owner_id', 'created_at', 'id'], unique=False
    )
    op.create_index(
        'uq_links_key_default_domain', 'links', ['key'], unique=True,
        sqlite_where=_DEFAULT_ONLY, postgresql_where=_DEFAULT_ONLY,
    )
    op.drop_index(op.f('ix_invitations_workspace_id'), table_name='invitations')
    op.drop_table('invitations')
    op.drop_index(op.f('ix_memberships_user_id'), table_name='memberships')
    op.drop_table('memberships')
    op.drop_table('workspaces')
