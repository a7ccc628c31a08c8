"""link_tags: tags are lower-cased, so `Dev` and `dev` are one tag

Tags were compared case-sensitively, and a link could carry both `Dev` and `dev`. From here a
tag is stored lower-cased (shortener.links.schemas.tag_form). Existing tags are lower-cased in
Python, not with SQL lower() (SQLite's lowers ASCII only, PostgreSQL's follows the locale): the
same rule as the application's. Spellings that now coincide on one link merge into one row;
across links they are one tag by being equal.

The downgrade keeps the lower-cased tags: the original spellings are not recorded.

Revision ID: 3c9f2e7a1d08
Revises: 3f6b2d8e1a47
Create Date: 2026-11-29 06:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '3c9f2e7a1d08'
down_revision: Union[str, Sequence[str], None] = '3f6b2d8e1a47'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

link_tags = sa.table("link_tags", sa.column("link_id", sa.Integer), sa.column("tag", sa.String))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(link_tags.c.link_id, link_tags.c.tag)).all()
    kept = {(link_id, tag) for link_id, tag in rows if tag == tag.strip().lower()}
    for link_id, tag in rows:
        lowered = tag.strip().lower()
        if tag == lowered:
            continue
        this = sa.and_(link_tags.c.link_id == link_id, link_tags.c.tag == tag)
        if (link_id, lowered) in kept:
            bind.execute(sa.delete(link_tags).where(this))  # a duplicate on this link
        else:
            bind.execute(sa.update(link_tags).where(this).values(tag=lowered))
            kept.add((link_id, lowered))


def downgrade() -> None:
    pass
