"""users.email_verified and account_tokens (password reset, e-mail verification)

Accounts that exist before this migration count as verified: they were made by their owners
or by an admin before the service could send mail, and nothing offered them a way to prove
their address; marking them unverified would single out every existing user for a check they
cannot pass without SMTP. Accounts created from here on start unverified.

Revision ID: 3f8a6c1d2e90
Revises: 7d1e4b2a9c55
Create Date: 2026-11-29 06:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shortener.models  # noqa: F401 - custom column types (UTCDateTime)


# revision identifiers, used by Alembic.
revision: str = '3f8a6c1d2e90'
down_revision: Union[str, Sequence[str], None] = '7d1e4b2a9c55'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Plain ADD COLUMN, not batch mode: on SQLite a batch rebuild of users would lose its
    # AUTOINCREMENT (see 5a7c2e9d1f30), and SQLite adds a NOT NULL column with a default fine.
    op.add_column(
        'users',
        sa.Column('email_verified', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(sa.text("UPDATE users SET email_verified = :yes").bindparams(yes=True))
    op.create_table('account_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('created_at', shortener.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', shortener.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', shortener.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_tokens_token_hash')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_tokens_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_tokens_user_id'))
    op.drop_table('account_tokens')
    # SQLite drops a column in place since 3.35 (no rebuild, AUTOINCREMENT kept).
    op.drop_column('users', 'email_verified')
