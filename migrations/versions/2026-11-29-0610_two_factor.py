"""two-factor sign-in: TOTP columns on users, recovery_codes

users.totp_secret holds the AES-GCM encrypted TOTP secret (auth/totp.py), set by
POST /api/auth/2fa/setup and kept pending until totp_enabled; totp_last_step refuses a code
seen before. recovery_codes keeps the SHA-256 of each unused recovery code.

Revision ID: 5b2f7c1d9e08
Revises: 3f8a6c1d2e90
Create Date: 2026-11-29 06:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shortener.models


# revision identifiers, used by Alembic.
revision: str = '5b2f7c1d9e08'
down_revision: Union[str, Sequence[str], None] = '3f8a6c1d2e90'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: on SQLite a batch would rebuild users, which every other
    # table references.
    op.add_column('users', sa.Column('totp_secret', sa.String(length=255), nullable=True))
    op.add_column(
        'users', sa.Column('totp_enabled', sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column('users', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', shortener.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('recovery_codes') as batch:
        batch.create_index(batch.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recovery_codes') as batch:
        batch.drop_index(batch.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('totp_last_step')
        batch.drop_column('totp_enabled')
        batch.drop_column('totp_secret')
