"""Links: create, list, read, change and delete, with ownership and cache invalidation."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.audit.service import record, record_acting
from shortener.auth.passwords import hash_password
from shortener.db import after_commit
from shortener.domains import service as domains
from shortener.domains.hostnames import short_url
from shortener.errors import Conflict, DomainError, Invalid, NotFound
from shortener.keys import is_key, link_ident, md5_hex, md5_key, random_key
from shortener.links import validation
from shortener.links.context import LinkContext
from shortener.links.quota import LinkQuota, unlimited
from shortener.links.schemas import LinkCreate, LinkPublic, LinkUpdate, tag_form
from shortener.links.validation import NewLink
from shortener.models import Link, LinkTag, utcnow
from shortener.workspaces.acting import Acting
from shortener.workspaces.service import hold_workspace

RANDOM_KEY_ATTEMPTS = 8
MD5_MAX_LENGTH = 22  # a 128-bit digest has at most 22 base62 digits


async def _emit(
    session: AsyncSession, ctx: LinkContext, link: Link, event: str, **extra: Any
) -> None:
    """Announce `event` after the commit, with the link as the API shows it now (and `extra`)."""
    if ctx.events is None:
        return
    data = (await to_public(session, [link], ctx.base_url))[0].model_dump(mode="json")
    data.update(extra)
    after_commit(session, partial(ctx.events.emit, link.workspace_id, event, data))


async def create_link(
    session: AsyncSession,
    *,
    acting: Acting,
    data: LinkCreate,
    ctx: LinkContext,
    quota: LinkQuota | None,
) -> tuple[Link, bool]:
    """The new link and True, or (md5 strategy) the workspace's existing link and False.

    `quota` is the caller's creation limit (None: the operator's CLI, unlimited).
    """
    new = await validation.prepare(data, ctx)
    grant = await quota.take_one() if quota is not None else unlimited(1)
    try:
        link, created = await add_prepared(session, acting=acting, new=new, ctx=ctx)
    except DomainError:
        await grant.unused(1)
        raise
    if not created:
        await grant.unused(1)
    return link, created


async def add_prepared(
    session: AsyncSession, *, acting: Acting, new: NewLink, ctx: LinkContext
) -> tuple[Link, bool]:
    """Insert a link `validation.prepare` accepted, after the checks that need the database."""
    await hold_workspace(session, acting.workspace_id, writer=acting.user)
    domain = await domains.domain_for_links(session, acting=acting, hostname=new.domain, ctx=ctx)
    domain_id = domain.id if domain is not None else None
    md5 = new.alias is None and new.key_strategy == "md5"
    if md5 and (existing := await _md5_link(session, acting, new, domain_id)) is not None:
        return existing, False
    await validation.check_not_blocked(session, new.fields, ctx)
    for candidate, strategy in _candidate_keys(new):
        key = ctx.key(candidate)
        link = Link(
            key=key,
            key_strategy=strategy,
            owner_id=acting.user.id or 0,
            workspace_id=acting.workspace_id,
            domain_id=domain_id,
            **new.columns,
        )
        try:
            # The unique constraint on key decides races; a savepoint keeps the
            # transaction alive for the next candidate.
            async with session.begin_nested():
                session.add(link)
                await session.flush()
        except IntegrityError:
            if new.alias is not None:
                raise Conflict(f"the alias '{new.alias}' is already taken") from None
            # The key may be taken by the same URL, shortened by a request at the same
            # moment: its link is the answer, not a second one under a longer key.
            if md5 and (existing := await _md5_link(session, acting, new, domain_id)) is not None:
                return existing, False
            continue
        await _set_tags(session, link, new.tags)
        after_commit(session, partial(ctx.cache.invalidate, link_ident(domain_id, key)))
        await _emit(session, ctx, link, "link.created")
        await record_acting(session, acting, "link.created", target=link_ident(domain_id, key))
        return link, True
    raise Conflict("could not find a free key; try again or choose an alias")


async def _md5_link(
    session: AsyncSession, acting: Acting, new: NewLink, domain_id: int | None
) -> Link | None:
    """The workspace's md5 link to the URL of `new` on its domain, if there is one."""
    return await link_for_url(
        session,
        acting=acting,
        url=new.columns["url"],
        domain_id=domain_id,
        url_hash=new.columns["url_md5"],
        strategy="md5",
    )


def _candidate_keys(new: NewLink) -> Iterable[tuple[str, str]]:
    if new.alias is not None:
        yield new.alias, "alias"
    elif new.key_strategy == "md5":
        full = md5_key(new.columns["url"], MD5_MAX_LENGTH)
        for length in range(7, len(full) + 1):
            yield full[:length], "md5"
    else:
        for _ in range(RANDOM_KEY_ATTEMPTS):
            yield random_key(), "random"


async def link_for_url(
    session: AsyncSession,
    *,
    acting: Acting,
    url: str,
    domain_id: int | None,
    url_hash: str | None = None,
    strategy: str | None = None,
) -> Link | None:
    """The workspace's oldest link to `url` (as stored: normalised by validation.check_target)
    on the domain of `domain_id` (None: the default), of key `strategy` when given. A link
    asked for on one domain is never answered with one on another: its short URL would be
    somewhere else (md5 keys, YOURLS' "already shortened", Kutt's `reuse`)."""
    conditions = [
        col(Link.workspace_id) == acting.workspace_id,
        col(Link.url_md5) == (url_hash or md5_hex(url)),
        col(Link.domain_id).is_(None) if domain_id is None else col(Link.domain_id) == domain_id,
    ]
    if strategy is not None:
        conditions.append(col(Link.key_strategy) == strategy)
    result = await session.execute(select(Link).where(*conditions).order_by(col(Link.id)))
    return next((link for link in result.scalars() if link.url == url), None)


async def _set_tags(session: AsyncSession, link: Link, tags: list[str]) -> None:
    await session.execute(delete(LinkTag).where(col(LinkTag.link_id) == link.id))
    session.add_all(LinkTag(link_id=link.id or 0, tag=tag) for tag in tags)
    await session.flush()


async def tags_of(session: AsyncSession, link_ids: list[int]) -> dict[int, list[str]]:
    if not link_ids:
        return {}
    rows = await session.execute(
        select(col(LinkTag.link_id), col(LinkTag.tag))
        .where(col(LinkTag.link_id).in_(link_ids))
        .order_by(col(LinkTag.tag))
    )
    tags: dict[int, list[str]] = {i: [] for i in link_ids}
    for link_id, tag in rows:
        tags[link_id].append(tag)
    return tags


def visible_to(acting: Acting) -> ColumnElement[bool]:
    """The links `acting` may see (and, with links:write, change): the workspace's; a site
    admin's, every link."""
    return acting.scope(col(Link.workspace_id))


async def get_link(
    session: AsyncSession,
    *,
    acting: Acting,
    key: str,
    domain_id: int | None = None,
    lock: bool = False,
) -> Link:
    """The link, if `acting` may see it; other workspaces' links do not exist for them.
    `domain_id` is the link's domain (None: the default; see domains.service.domain_id_of).

    `lock`: to change or delete it. Two changes at once then take turns, the second reading
    what the first left: a link deleted meanwhile is not found (404). Without the lock, a
    PATCH of a link deleted meanwhile failed on its UPDATE (a 500), and two DELETEs at once
    both answered 204 and both announced and audited the deletion."""
    if not is_key(key):
        # No key has these characters; and a NUL would make PostgreSQL fail, not miss.
        raise NotFound("link not found")
    on_domain = (
        col(Link.domain_id).is_(None) if domain_id is None else col(Link.domain_id) == domain_id
    )
    query = select(Link).where(col(Link.key) == key, on_domain, visible_to(acting))
    if lock:
        # populate_existing: the link may be in the session already, read before the lock.
        query = query.with_for_update().execution_options(populate_existing=True)
    link = (await session.execute(query)).scalar_one_or_none()
    if link is None:
        raise NotFound("link not found")
    return link


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(q: str) -> ColumnElement[bool]:
    """Links whose URL, title or key contains `q`, case-insensitively: what `q` searches."""
    pattern = f"%{_escape_like(q.lower())}%"
    return or_(
        func.lower(col(Link.url)).like(pattern, escape="\\"),
        func.lower(col(Link.title)).like(pattern, escape="\\"),
        func.lower(col(Link.key)).like(pattern, escape="\\"),
    )


def tagged(*tags: str) -> ColumnElement[bool]:
    """Links carrying any of `tags` (in any case: tags are stored lower-cased)."""
    wanted = [tag_form(tag) for tag in tags]
    return col(Link.id).in_(select(col(LinkTag.link_id)).where(col(LinkTag.tag).in_(wanted)))


def ended() -> ColumnElement[bool]:
    """Links that no longer redirect on their own terms: past their expiry, or with every one
    of their `max_clicks` used (what the redirect counts: `uses`, humans only)."""
    return or_(
        and_(col(Link.expires_at).is_not(None), col(Link.expires_at) <= utcnow()),
        and_(col(Link.max_clicks).is_not(None), col(Link.uses) >= col(Link.max_clicks)),
    )


LinkStatus = Literal["active", "inactive", "expired"]
_STATUS: dict[str, Any] = {
    "active": lambda: col(Link.is_active).is_(True),
    "inactive": lambda: col(Link.is_active).is_(False),
    "expired": ended,
}


async def list_links(
    session: AsyncSession,
    *,
    acting: Acting,
    limit: int,
    offset: int,
    q: str | None = None,
    tag: str | None = None,
    domain_id: int | Literal["any"] | None = "any",
    status: LinkStatus | None = None,
    ids: Iterable[int] | None = None,
) -> tuple[list[Link], int]:
    """A page of the links `acting` may see, newest first, and how many match in all."""
    conditions: list[ColumnElement[bool]] = [visible_to(acting)]
    if ids is not None:
        conditions.append(col(Link.id).in_(list(ids)))
    if status is not None:
        conditions.append(_STATUS[status]())
    if domain_id != "any":
        conditions.append(
            col(Link.domain_id).is_(None) if domain_id is None else col(Link.domain_id) == domain_id
        )
    if q:
        conditions.append(search(q))
    if tag:
        conditions.append(tagged(tag))
    total = (
        await session.execute(select(func.count()).select_from(Link).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(Link)
        .where(*conditions)
        .order_by(col(Link.created_at).desc(), col(Link.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), int(total)


LinkOrder = Literal["top", "bottom", "last", "random"]
_ORDERS: dict[str, tuple[ColumnElement[Any], ...]] = {
    "top": (col(Link.clicks).desc(), col(Link.id).desc()),
    "bottom": (col(Link.clicks).asc(), col(Link.id).asc()),
    "last": (col(Link.created_at).desc(), col(Link.id).desc()),
    "random": (func.random(),),
}


async def ranked_links(
    session: AsyncSession, *, acting: Acting, order: LinkOrder, limit: int, offset: int = 0
) -> list[Link]:
    """The workspace's links by clicks (top, bottom), newest first (last) or in random order
    (a site admin's too: the workspace's, not everyone's)."""
    rows = await session.execute(
        select(Link)
        .where(col(Link.workspace_id) == acting.workspace_id)
        .order_by(*_ORDERS[order])
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars())


async def link_totals(session: AsyncSession, *, acting: Acting) -> tuple[int, int]:
    """How many links the workspace has, and their clicks, all time."""
    count, clicks = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Link.clicks), 0)).where(
                col(Link.workspace_id) == acting.workspace_id
            )
        )
    ).one()
    return int(count), int(clicks)


_NOT_NULL = ("url", "redirect_type", "is_active", "key")


async def update_link(
    session: AsyncSession,
    *,
    acting: Acting,
    key: str,
    data: LinkUpdate,
    ctx: LinkContext,
    domain_id: int | None = None,
) -> Link:
    changes = data.model_dump(exclude_unset=True)
    for name in _NOT_NULL:
        if name in changes and changes[name] is None:
            raise Invalid(f"{name} cannot be null", field=name)
    # Every check that needs no database, and the slow hashing, before the first statement.
    if "url" in changes:
        changes["url"] = validation.check_target(changes["url"], ctx)
    if "expires_at" in changes:
        validation.check_expiry(changes["expires_at"])
    if "key" in changes:
        validation.check_alias(changes["key"], field="key")
        changes["key"] = ctx.key(changes["key"])
    options = validation.option_columns(changes, ctx)
    if "password" in changes:
        password = changes.pop("password")
        changes["password_hash"] = await hash_password(password) if password else None
    link = await get_link(session, acting=acting, key=key, domain_id=domain_id, lock=True)
    await validation.check_not_blocked(
        session, validation.targets(changes.get("url"), options), ctx
    )
    old_key = link.key
    if changes.get("key", old_key) != old_key:
        await _rekey(session, link, changes["key"])
    if "url" in changes:
        link.url_md5 = md5_hex(changes["url"])
    for name in ("url", "expires_at", "password_hash", "title", "max_clicks", "redirect_type"):
        if name in changes:
            setattr(link, name, changes[name])
    if "is_active" in changes:
        link.is_active = changes["is_active"]
    for name, value in options.items():
        setattr(link, name, value)
    if "tags" in changes:
        await _set_tags(session, link, changes["tags"] or [])
    link.updated_at = utcnow()
    session.add(link)
    await session.flush()
    # A new key: the old one is forgotten by every worker (and the filter of known keys learns
    # the new one) before the answer, as for a created or deleted link.
    idents = sorted({link_ident(domain_id, old_key), link_ident(domain_id, link.key)})
    after_commit(session, partial(ctx.cache.invalidate_many, idents))
    extra = {"previous_key": old_key} if link.key != old_key else {}
    await _emit(session, ctx, link, "link.updated", **extra)
    # The names of the fields changed, not their values (one may be a password).
    fields = sorted({"password" if n == "password_hash" else n for n in changes} | set(options))
    target = link_ident(domain_id, link.key)
    await record(
        session,
        actor=acting.user,
        action="link.updated",
        target=target,
        detail={"fields": fields},
        workspace_id=link.workspace_id,
    )
    return link


async def _rekey(session: AsyncSession, link: Link, new_key: str) -> None:
    """Give `link` `new_key` on its domain; Conflict when another link there has it.

    The clicks and rollups name the link by id, so its statistics stay with it."""
    link.key, link.key_strategy = new_key, "alias"
    try:
        # The unique constraint decides races, as on create.
        async with session.begin_nested():
            session.add(link)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"the key '{new_key}' is already taken on this domain") from None


async def delete_link(
    session: AsyncSession,
    *,
    acting: Acting,
    key: str,
    ctx: LinkContext,
    domain_id: int | None = None,
) -> None:
    link = await get_link(session, acting=acting, key=key, domain_id=domain_id, lock=True)
    await _emit(session, ctx, link, "link.deleted")
    await session.delete(link)
    await session.flush()
    await record(
        session,
        actor=acting.user,
        action="link.deleted",
        target=link_ident(domain_id, key),
        workspace_id=link.workspace_id,
    )
    after_commit(session, partial(ctx.cache.invalidate, link_ident(domain_id, key)))


async def to_public(session: AsyncSession, links: list[Link], base_url: str) -> list[LinkPublic]:
    tags = await tags_of(session, [link.id or 0 for link in links])
    hosts = await domains.hostnames(session, {link.domain_id for link in links if link.domain_id})
    default_host = urlsplit(base_url).hostname or ""
    return [
        LinkPublic(
            key=link.key,
            domain=hosts[link.domain_id] if link.domain_id else default_host,
            short_url=short_url(base_url, hosts.get(link.domain_id or 0), link.key),
            url=link.url,
            title=link.title,
            created_at=link.created_at,
            updated_at=link.updated_at,
            expires_at=link.expires_at,
            max_clicks=link.max_clicks,
            redirect_type=link.redirect_type,
            has_password=link.password_hash is not None,
            is_active=link.is_active,
            tags=tags.get(link.id or 0, []),
            clicks=link.clicks,
            bot_clicks=link.bot_clicks,
            rules=link.rules,
            variants=link.variants,
            forward_query=link.forward_query,
            forward_path=link.forward_path,
            fallback_url=link.fallback_url,
            og_title=link.og_title,
            og_description=link.og_description,
            og_image=link.og_image,
        )
        for link in links
    ]
