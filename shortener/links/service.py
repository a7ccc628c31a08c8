"""Links: create, list, read, change and delete, with ownership and cache invalidation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from sqlalchemy import ColumnElement, delete, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.auth.passwords import hash_password
from shortener.blocklist.service import blocked_by, check_not_blocked
from shortener.cache import LinkCache
from shortener.db import after_commit
from shortener.errors import Conflict, Invalid, NotFound
from shortener.keys import alias_problem, looks_like_key, md5_hex, md5_key, random_key
from shortener.links.options import LinkOptions
from shortener.links.schemas import LinkCreate, LinkPublic, LinkUpdate
from shortener.models import Link, LinkTag, User, utcnow
from shortener.urls import URLRefused, parse_target, parse_web_url

RANDOM_KEY_ATTEMPTS = 8
MD5_MAX_LENGTH = 22  # a 128-bit digest has at most 22 base62 digits


class LinkEvents(Protocol):
    """Where link.created / link.updated / link.deleted go once committed (the webhooks)."""

    async def emit(self, owner_id: int, event: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class LinkContext:
    """What the links service needs from the app: where keys point and how to invalidate."""

    base_url: str
    own_host: str
    cache: LinkCache
    events: LinkEvents | None = None
    # BLOCKED_DOMAINS; the admins' additions are in the database.
    blocked_domains: frozenset[str] = frozenset()


async def _emit(session: AsyncSession, ctx: LinkContext, link: Link, event: str) -> None:
    """Announce `event` after the commit, with the link as the API shows it now."""
    if ctx.events is None:
        return
    data = (await to_public(session, [link], ctx.base_url))[0].model_dump(mode="json")
    after_commit(session, partial(ctx.events.emit, link.owner_id, event, data))


def check_url(url: str, ctx: LinkContext, *, field: str = "url") -> str:
    """The URL to store: normalised as browsers read it; Invalid when it cannot be a target."""
    try:
        return parse_target(url, own_hosts=(ctx.own_host,)).href
    except URLRefused as exc:
        raise Invalid(str(exc), field=field) from None


def _not_in_past(value: datetime | None) -> None:
    if value is not None and value <= datetime.now(UTC):
        raise Invalid("expires_at must be in the future", field="expires_at")


OPTION_FIELDS = tuple(LinkOptions.model_fields)


def _options(values: dict[str, Any], ctx: LinkContext) -> dict[str, Any]:
    """Check the redirect options among `values` and return them as columns."""
    columns: dict[str, Any] = {}
    for name in OPTION_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name in ("forward_query", "forward_path") and value is None:
            raise Invalid(f"{name} cannot be null", field=name)
        if name in ("rules", "variants") and value:
            value = [
                {**item, "url": check_url(item["url"], ctx, field=f"{name}.{i}.url")}
                for i, item in enumerate(value)
            ]
            value = [{k: v for k, v in item.items() if v is not None} for item in value]
        if name == "fallback_url" and value:
            value = check_url(value, ctx, field=name)
        if name == "og_image" and value:
            # An image may live anywhere, this host included; it only has to be a web URL.
            try:
                value = parse_web_url(value).href
            except URLRefused as exc:
                raise Invalid(str(exc), field=name) from None
        if name in ("rules", "variants") and not value:
            value = None  # an empty list means "none"
        columns[name] = value
    return columns


async def _check_option_targets(
    session: AsyncSession, columns: dict[str, Any], ctx: LinkContext
) -> None:
    """Rules, variants and the fallback send visitors somewhere too: the blocklist holds."""
    targets: list[tuple[str, str]] = []
    for name in ("rules", "variants"):
        targets += [
            (f"{name}.{i}.url", item["url"]) for i, item in enumerate(columns.get(name) or [])
        ]
    if columns.get("fallback_url"):
        targets.append(("fallback_url", columns["fallback_url"]))
    for field, url in targets:
        domain = await blocked_by(session, url, ctx.blocked_domains)
        if domain is not None:
            raise Invalid(f"links to {domain} (and its subdomains) are not allowed", field=field)


async def create_link(
    session: AsyncSession, *, owner: User, data: LinkCreate, ctx: LinkContext
) -> tuple[Link, bool]:
    """The new link and True, or (md5 strategy) this user's existing link and False."""
    data = data.model_copy(update={"url": check_url(data.url, ctx)})
    await check_not_blocked(session, data.url, ctx.blocked_domains)
    _not_in_past(data.expires_at)
    if data.alias is not None:
        problem = alias_problem(data.alias)
        if problem:
            raise Invalid(problem, field="alias")
    url_hash = md5_hex(data.url)
    if data.alias is None and data.key_strategy == "md5":
        existing = await _existing_md5_link(session, owner, data.url, url_hash)
        if existing is not None:
            return existing, False
    options = _options(data.model_dump(include=set(OPTION_FIELDS)), ctx)
    await _check_option_targets(session, options, ctx)
    fields: dict[str, Any] = {
        "url": data.url,
        "url_md5": url_hash,
        "owner_id": owner.id,
        "title": data.title,
        "expires_at": data.expires_at,
        "max_clicks": data.max_clicks,
        "redirect_type": data.redirect_type,
        "password_hash": await hash_password(data.password) if data.password else None,
        **options,
    }
    for key, strategy in _candidate_keys(data):
        link = Link(key=key, key_strategy=strategy, **fields)
        try:
            # The unique constraint on key decides races; a savepoint keeps the
            # transaction alive for the next candidate.
            async with session.begin_nested():
                session.add(link)
                await session.flush()
        except IntegrityError:
            if data.alias is not None:
                raise Conflict(f"the alias '{data.alias}' is already taken") from None
            continue
        await _set_tags(session, link, data.tags)
        after_commit(session, partial(ctx.cache.invalidate, key))
        await _emit(session, ctx, link, "link.created")
        return link, True
    raise Conflict("could not find a free key; try again or choose an alias")


def _candidate_keys(data: LinkCreate) -> Iterable[tuple[str, str]]:
    if data.alias is not None:
        yield data.alias, "alias"
    elif data.key_strategy == "md5":
        full = md5_key(data.url, MD5_MAX_LENGTH)
        for length in range(7, len(full) + 1):
            yield full[:length], "md5"
    else:
        for _ in range(RANDOM_KEY_ATTEMPTS):
            yield random_key(), "random"


async def _existing_md5_link(
    session: AsyncSession, owner: User, url: str, url_hash: str
) -> Link | None:
    result = await session.execute(
        select(Link)
        .where(
            col(Link.owner_id) == owner.id,
            col(Link.url_md5) == url_hash,
            col(Link.key_strategy) == "md5",
        )
        .order_by(col(Link.id))
    )
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


def _visible_to(user: User) -> ColumnElement[bool]:
    return true() if user.is_admin else col(Link.owner_id) == user.id


async def get_link(session: AsyncSession, *, user: User, key: str) -> Link:
    """The link, if `user` may see it; others' links do not exist for them."""
    if not looks_like_key(key):
        # No key has these characters; and a NUL would make PostgreSQL fail, not miss.
        raise NotFound("link not found")
    link = (
        await session.execute(select(Link).where(col(Link.key) == key, _visible_to(user)))
    ).scalar_one_or_none()
    if link is None:
        raise NotFound("link not found")
    return link


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_links(
    session: AsyncSession,
    *,
    user: User,
    limit: int,
    offset: int,
    q: str | None = None,
    tag: str | None = None,
) -> tuple[list[Link], int]:
    conditions: list[ColumnElement[bool]] = [_visible_to(user)]
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        conditions.append(
            or_(
                func.lower(col(Link.url)).like(pattern, escape="\\"),
                func.lower(col(Link.title)).like(pattern, escape="\\"),
                func.lower(col(Link.key)).like(pattern, escape="\\"),
            )
        )
    if tag:
        conditions.append(
            col(Link.id).in_(select(col(LinkTag.link_id)).where(col(LinkTag.tag) == tag))
        )
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


_NOT_NULL = ("url", "redirect_type", "is_active")


async def update_link(
    session: AsyncSession, *, user: User, key: str, data: LinkUpdate, ctx: LinkContext
) -> Link:
    link = await get_link(session, user=user, key=key)
    changes = data.model_dump(exclude_unset=True)
    for name in _NOT_NULL:
        if name in changes and changes[name] is None:
            raise Invalid(f"{name} cannot be null", field=name)
    if "url" in changes:
        changes["url"] = check_url(changes["url"], ctx)
        await check_not_blocked(session, changes["url"], ctx.blocked_domains)
        link.url = changes["url"]
        link.url_md5 = md5_hex(link.url)
    if "expires_at" in changes:
        _not_in_past(changes["expires_at"])
        link.expires_at = changes["expires_at"]
    if "password" in changes:
        password = changes["password"]
        link.password_hash = await hash_password(password) if password else None
    for name in ("title", "max_clicks", "redirect_type", "is_active"):
        if name in changes:
            setattr(link, name, changes[name])
    options = _options(changes, ctx)
    await _check_option_targets(session, options, ctx)
    for name, value in options.items():
        setattr(link, name, value)
    if "tags" in changes:
        await _set_tags(session, link, changes["tags"] or [])
    link.updated_at = utcnow()
    session.add(link)
    await session.flush()
    after_commit(session, lambda: ctx.cache.invalidate(key))
    await _emit(session, ctx, link, "link.updated")
    return link


async def delete_link(session: AsyncSession, *, user: User, key: str, ctx: LinkContext) -> None:
    link = await get_link(session, user=user, key=key)
    await _emit(session, ctx, link, "link.deleted")
    await session.delete(link)
    await session.flush()
    after_commit(session, lambda: ctx.cache.invalidate(key))


async def to_public(session: AsyncSession, links: list[Link], base_url: str) -> list[LinkPublic]:
    tags = await tags_of(session, [link.id or 0 for link in links])
    return [
        LinkPublic(
            key=link.key,
            short_url=f"{base_url}/{link.key}",
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
