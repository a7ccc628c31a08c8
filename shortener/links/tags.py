"""Tags across a workspace's links: list, count, rename and remove (a tag lives on its links)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.errors import Conflict, Invalid, NotFound
from shortener.links.schemas import Tags, tag_form
from shortener.links.service import visible_to
from shortener.models import ClickRollup, Link, LinkTag, utcnow
from shortener.workspaces.acting import Acting

_TAGS = TypeAdapter(Tags)


@dataclass(frozen=True, slots=True)
class TagCount:
    tag: str
    links: int
    clicks: int
    bot_clicks: int


def _visible_links(acting: Acting):  # type: ignore[no-untyped-def]
    return select(col(Link.id)).where(visible_to(acting))


async def list_tags(session: AsyncSession, *, acting: Acting) -> list[str]:
    rows = await session.execute(
        select(col(LinkTag.tag))
        .where(col(LinkTag.link_id).in_(_visible_links(acting)))
        .distinct()
        .order_by(col(LinkTag.tag))
    )
    return list(rows.scalars())


async def tag_counts(session: AsyncSession, *, acting: Acting) -> list[TagCount]:
    """Each tag with its links and their clicks (bots apart), from the rollups."""
    links = await session.execute(
        select(col(LinkTag.tag), func.count())
        .where(col(LinkTag.link_id).in_(_visible_links(acting)))
        .group_by(col(LinkTag.tag))
        .order_by(col(LinkTag.tag))
    )
    clicks = await session.execute(
        select(col(LinkTag.tag), col(ClickRollup.is_bot), func.sum(ClickRollup.clicks))
        .join(ClickRollup, col(ClickRollup.link_id) == col(LinkTag.link_id))
        .where(col(LinkTag.link_id).in_(_visible_links(acting)))
        .group_by(col(LinkTag.tag), col(ClickRollup.is_bot))
    )
    by_tag: dict[tuple[str, bool], int] = {(t, bool(b)): int(n) for t, b, n in clicks}
    return [
        TagCount(
            tag=tag,
            links=int(count),
            clicks=by_tag.get((tag, False), 0) + by_tag.get((tag, True), 0),
            bot_clicks=by_tag.get((tag, True), 0),
        )
        for tag, count in links
    ]


def check_tag(tag: str, *, field: str = "tags") -> str:
    """`tag` as links keep it (the links' own tag rule), or Invalid."""
    try:
        return _TAGS.validate_python([tag])[0]  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise Invalid(exc.errors()[0]["msg"], field=field) from None


async def rename_tag(session: AsyncSession, *, acting: Acting, old: str, new: str) -> None:
    """Rename `old` to `new` on every link of the workspace's that has it (`old` in any case).

    NotFound when none has `old`; Conflict when one of them already uses `new` (the two would
    merge, which a rename should not do silently)."""
    new, old = check_tag(new, field="newName"), tag_form(old)
    mine = col(LinkTag.link_id).in_(_visible_links(acting))
    if old not in await list_tags(session, acting=acting):
        raise NotFound(f"tag '{old}' not found")
    if old == new:
        return
    taken = await session.execute(select(func.count()).where(mine, col(LinkTag.tag) == new))
    if taken.scalar_one():
        raise Conflict(f"tag '{new}' already exists")
    ids = list(
        (
            await session.execute(select(col(LinkTag.link_id)).where(mine, col(LinkTag.tag) == old))
        ).scalars()
    )
    await session.execute(
        update(LinkTag).where(mine, col(LinkTag.tag) == old).values(tag=new)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    await _touch(session, ids)


async def delete_tags(session: AsyncSession, *, acting: Acting, tags: list[str]) -> None:
    """Take `tags` (in any case) off the workspace's links (tags no link has are ignored)."""
    if not tags:
        return
    tags = [tag_form(tag) for tag in tags]
    mine = col(LinkTag.link_id).in_(_visible_links(acting))
    ids = list(
        (
            await session.execute(
                select(col(LinkTag.link_id)).where(mine, col(LinkTag.tag).in_(tags))
            )
        ).scalars()
    )
    await session.execute(
        delete(LinkTag).where(mine, col(LinkTag.tag).in_(tags))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    await _touch(session, ids)


async def _touch(session: AsyncSession, link_ids: list[int]) -> None:
    """A link whose tags changed was updated (lists and caches key on updated_at)."""
    if link_ids:
        await session.execute(
            update(Link).where(col(Link.id).in_(link_ids)).values(updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )  # fmt: skip
