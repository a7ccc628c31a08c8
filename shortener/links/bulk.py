"""One action on many links at once (the dashboard's selection): delete, add or remove a tag,
activate, deactivate.

The rules are the single-link ones (links.service): a user acts on the links they may see
(an admin on every link), ids of others' links are ignored as if they did not exist, every
link changed is invalidated in the link cache after the commit, and each one announces the
webhook event its single-link change would (`link.deleted`, `link.updated`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Literal, get_args

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.audit.service import record_acting
from shortener.db import after_commit
from shortener.errors import Invalid
from shortener.fields import MAX_ROW_ID
from shortener.keys import link_ident
from shortener.links.context import LinkContext
from shortener.links.schemas import MAX_TAGS, Tags
from shortener.links.service import to_public, visible_to
from shortener.models import Link, LinkTag, utcnow
from shortener.workspaces.acting import Acting

BulkAction = Literal["delete", "add_tag", "remove_tag", "activate", "deactivate"]
ACTIONS: tuple[str, ...] = get_args(BulkAction)
MAX_BULK = 1000  # as POST /api/links/bulk: one request, one bounded transaction
_TAG = TypeAdapter(Tags)


def check_action(action: str) -> BulkAction:
    if action not in ACTIONS:
        raise Invalid(f"the action is one of {', '.join(ACTIONS)}", field="action")
    return action  # type: ignore[return-value]  # checked just above


def _one_tag(tag: str | None) -> str:
    try:
        tags = _TAG.validate_python([tag or ""])
    except ValidationError as exc:
        raise Invalid(exc.errors()[0]["msg"].removeprefix("Value error, "), field="tag") from None
    return tags[0]


async def bulk_action(
    session: AsyncSession,
    *,
    acting: Acting,
    ids: Sequence[int],
    action: BulkAction,
    ctx: LinkContext,
    tag: str | None = None,
) -> int:
    """Apply `action` to the links among `ids` that `acting` may see; how many changed (a link
    that already was as asked, e.g. active, is not counted and announces nothing)."""
    wanted = sorted({i for i in ids if 0 < i <= MAX_ROW_ID})  # larger ones name no link
    if not wanted:
        raise Invalid("select at least one link", field="ids")
    if len(wanted) > MAX_BULK:
        raise Invalid(f"at most {MAX_BULK:,} links at once", field="ids")
    name = _one_tag(tag) if action in ("add_tag", "remove_tag") else ""
    # Locked, in id order, as a single change locks its link (links.service.get_link): a link
    # deleted meanwhile is left out rather than deleted, announced and audited twice.
    rows = await session.execute(
        select(Link)
        .where(col(Link.id).in_(wanted), visible_to(acting))
        .order_by(col(Link.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    links = list(rows.scalars())
    if action == "delete":
        changed = links
    elif action in ("activate", "deactivate"):
        changed = [link for link in links if link.is_active != (action == "activate")]
    else:
        changed = await _tag_changes(session, links, name, add=action == "add_tag")
    if not changed:
        return 0
    if action == "delete":
        # Announced first, while the links (and their tags) can still be read.
        await _announce(session, ctx, changed, "link.deleted")
        for link in changed:
            await session.delete(link)
        await session.flush()
    else:
        await _apply(session, changed, action, name)
        await _announce(session, ctx, changed, "link.updated")
    idents = [link_ident(link.domain_id, link.key) for link in changed]
    after_commit(session, partial(ctx.cache.invalidate_many, idents))
    detail = {"action": action, "count": len(changed), **({"tag": name} if name else {})}
    await record_acting(session, acting, "links.bulk", detail=detail)
    return len(changed)


async def _tag_changes(
    session: AsyncSession, links: list[Link], tag: str, *, add: bool
) -> list[Link]:
    """The links the tag would change: those without it (add) or with it (remove)."""
    ids = [link.id for link in links]
    counts = dict(
        (
            await session.execute(
                select(col(LinkTag.link_id), func.count())
                .where(col(LinkTag.link_id).in_(ids))
                .group_by(col(LinkTag.link_id))
            )
        ).all()
    )
    having = set(
        (
            await session.execute(
                select(col(LinkTag.link_id)).where(
                    col(LinkTag.link_id).in_(ids), col(LinkTag.tag) == tag
                )
            )
        ).scalars()
    )
    if not add:
        return [link for link in links if link.id in having]
    changed = [link for link in links if link.id not in having]
    full = [link.key for link in changed if counts.get(link.id or 0, 0) >= MAX_TAGS]
    if full:
        # The same limit as a single link's tags; nothing is changed rather than a part.
        raise Invalid(
            f"{len(full):,} of the links already have {MAX_TAGS} tags (the most): "
            + ", ".join(full[:5]),
            field="tag",
        )
    return changed


async def _apply(session: AsyncSession, links: list[Link], action: str, tag: str) -> None:
    ids = [link.id for link in links]
    if action == "add_tag":
        session.add_all(LinkTag(link_id=link_id or 0, tag=tag) for link_id in ids)
    elif action == "remove_tag":
        await session.execute(
            delete(LinkTag).where(col(LinkTag.link_id).in_(ids), col(LinkTag.tag) == tag)
        )
    now = utcnow()
    for link in links:  # set on the objects: the events below show what the rows now hold
        link.updated_at = now
        if action in ("activate", "deactivate"):
            link.is_active = action == "activate"
    await session.flush()


async def _announce(session: AsyncSession, ctx: LinkContext, links: list[Link], event: str) -> None:
    """Each link's event after the commit, with the link as the API shows it (one query for
    all: to_public reads tags and domains in bulk)."""
    if ctx.events is None:
        return
    for link, public in zip(links, await to_public(session, links, ctx.base_url), strict=True):
        data = public.model_dump(mode="json")
        after_commit(session, partial(ctx.events.emit, link.workspace_id, event, data))
