"""Shlink's short URLs over our links: its fields to ours and back; links.service does the work.

Differences a Shlink client can notice (README, "Shlink web client and SDK"): `validSince` in
the future is refused (a link here is valid from its creation), `crawlable` is always false,
`shortCodeLength` is ignored (keys are 7 characters), and `forwardQuery` defaults to true, as
in Shlink.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.compat.shlink import problems
from shortener.compat.shlink.schemas import (
    Meta,
    Pagination,
    ShortUrl,
    ShortUrlCreate,
    ShortUrlEdit,
    VisitsSummary,
)
from shortener.domains import service as domains
from shortener.domains.hostnames import short_url
from shortener.errors import Conflict, Invalid, NotFound
from shortener.keys import md5_hex
from shortener.links import service as links
from shortener.links import validation
from shortener.links.context import LinkContext
from shortener.links.quota import LinkQuota
from shortener.links.schemas import LinkCreate, LinkUpdate, tag_form
from shortener.models import ClickRollup, Link, LinkTag
from shortener.stats.visits import Totals, totals_by_link
from shortener.workspaces.acting import Acting

M = TypeVar("M", bound=BaseModel)
ALL_ITEMS = -1  # Shlink's itemsPerPage for "everything on one page"


def per_page(items: int) -> int:
    """The short-URL list's `itemsPerPage`: below 1 is Shlink's "all" (visit lists cap it
    instead: visits.page_size)."""
    return ALL_ITEMS if items < 1 else items


# ---- domains ---------------------------------------------------------------------------

# Which links a filter keeps: "any" (no `domain` sent), None (the default domain) or an id.
DomainFilter = int | None | Literal["any"]


def default_authority(ctx: LinkContext) -> str:
    return urlsplit(ctx.base_url).netloc.lower()


def is_default(domain: str, ctx: LinkContext) -> bool:
    """Shlink's names for the default domain: `DEFAULT`, and BASE_URL's authority."""
    return domain == "DEFAULT" or domain.lower() in (default_authority(ctx), ctx.own_host)


async def domain_id(
    session: AsyncSession, *, acting: Acting, domain: str | None, ctx: LinkContext
) -> int | None:
    """`?domain=` as our domain id (None: the default domain, also when not sent); a domain
    this user cannot see, or no host name at all, is Shlink's domain-not-found."""
    if not domain or is_default(domain, ctx):
        return None
    try:
        return await domains.domain_id_of(session, acting=acting, hostname=domain, ctx=ctx)
    except (NotFound, Invalid):
        raise problems.domain_not_found(domain) from None


async def domain_filter(
    session: AsyncSession, *, acting: Acting, domain: str | None, ctx: LinkContext
) -> DomainFilter:
    """A list's `domain` filter: every domain when not sent."""
    if domain is None:
        return "any"
    return await domain_id(session, acting=acting, domain=domain, ctx=ctx)


async def base_url_of(session: AsyncSession, which: DomainFilter, ctx: LinkContext) -> str:
    """Where short URLs of the domain `which` start (a visit's visitedUrl): BASE_URL for the
    default domain and for a mix of domains (a visit row does not carry its link's domain)."""
    if which is None or which == "any":
        return ctx.base_url
    names = await domains.hostnames(session, {which})
    return short_url(ctx.base_url, names.get(which), "").rstrip("/")


def on_domain(which: DomainFilter) -> ColumnElement[bool]:
    if which == "any":
        return true()
    return col(Link.domain_id).is_(None) if which is None else col(Link.domain_id) == which


# ---- shapes --------------------------------------------------------------------------------


def atom(moment: datetime | None) -> str | None:
    """Shlink's dates: ISO 8601 with seconds and a numeric offset (PHP's DATE_ATOM)."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


def summary(totals: Totals) -> VisitsSummary:
    return VisitsSummary(total=totals.clicks, nonBots=totals.humans, bots=totals.bots)


async def short_urls(session: AsyncSession, found: list[Link], ctx: LinkContext) -> list[ShortUrl]:
    ids = [link.id or 0 for link in found]
    tags = await links.tags_of(session, ids)
    totals = await totals_by_link(session, ids)
    names = await domains.hostnames(session, {k.domain_id for k in found if k.domain_id})
    return [
        ShortUrl(
            shortCode=link.key,
            shortUrl=short_url(ctx.base_url, names.get(link.domain_id or 0), link.key),
            longUrl=link.url,
            dateCreated=atom(link.created_at) or "",
            visitsSummary=summary(totals.get(link.id or 0, Totals())),
            tags=tags.get(link.id or 0, []),
            meta=Meta(validSince=None, validUntil=atom(link.expires_at), maxVisits=link.max_clicks),
            # Shlink names the default domain null, a custom one by its authority.
            domain=names.get(link.domain_id or 0),
            title=link.title,
            crawlable=False,
            forwardQuery=link.forward_query,
            hasRedirectRules=bool(link.rules),
        )
        for link in found
    ]


def pagination(page: int, per_page: int, shown: int, total: int) -> Pagination:
    if per_page == ALL_ITEMS:
        return Pagination(
            currentPage=1, pagesCount=1 if total else 0, itemsPerPage=total,
            itemsInCurrentPage=shown, totalItems=total,
        )  # fmt: skip
    return Pagination(
        currentPage=page,
        pagesCount=-(-total // per_page),
        itemsPerPage=per_page,
        itemsInCurrentPage=shown,
        totalItems=total,
    )


def build(model: type[M], **values: Any) -> M:
    """`model` from Shlink's fields; our field rules' failures as Invalid (400 invalid-data)."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise Invalid(
            [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        ) from None


def _check_valid_since(valid_since: datetime | None) -> None:
    # A link here is live from its creation on; a start in the future cannot be kept.
    if valid_since is not None and valid_since > datetime.now(UTC):
        raise problems.invalid_data(
            ["validSince"], "validSince in the future is not supported by this server"
        )


# ---- operations ------------------------------------------------------------------------


async def create(
    session: AsyncSession,
    *,
    acting: Acting,
    body: ShortUrlCreate,
    ctx: LinkContext,
    quota: LinkQuota,
) -> Link:
    chosen = None  # the default domain
    if body.domain and not is_default(body.domain, ctx):
        try:
            chosen = await domains.domain_for_links(
                session, acting=acting, hostname=body.domain, ctx=ctx
            )
        except (NotFound, Invalid):
            raise problems.domain_not_found(body.domain) from None
    _check_valid_since(body.validSince)
    data = build(
        LinkCreate,
        url=body.longUrl,
        alias=body.customSlug,
        title=body.title,
        expires_at=body.validUntil,
        max_clicks=body.maxVisits,
        tags=body.tags or [],
        forward_query=True if body.forwardQuery is None else body.forwardQuery,
        domain=chosen.hostname if chosen else None,
    )
    if body.findIfExists:
        existing = await _same_link(session, acting, data, ctx, chosen.id if chosen else None)
        if existing is not None:
            return existing
    try:
        link, _ = await links.create_link(session, acting=acting, data=data, ctx=ctx, quota=quota)
    except Conflict:
        if body.customSlug is None:
            raise
        raise problems.non_unique_slug(body.customSlug, body.domain) from None
    return link


async def _same_link(
    session: AsyncSession, acting: Acting, data: LinkCreate, ctx: LinkContext, on: int | None
) -> Link | None:
    """Shlink's findIfExists: this user's link for the URL on the domain `on` with the same
    slug, tags and meta."""
    url = validation.check_target(data.url, ctx)
    query = select(Link).where(
        col(Link.workspace_id) == acting.workspace_id,
        col(Link.url_md5) == md5_hex(url),
        col(Link.url) == url,
        on_domain(on),
    )
    if data.alias is not None:
        query = query.where(col(Link.key) == data.alias)
    candidates = list((await session.execute(query.order_by(col(Link.id)))).scalars())
    tags = await links.tags_of(session, [link.id or 0 for link in candidates])
    for link in candidates:
        if (
            set(tags.get(link.id or 0, [])) == set(data.tags)
            and link.max_clicks == data.max_clicks
            and link.expires_at == data.expires_at
        ):
            return link
    return None


async def edit(
    session: AsyncSession,
    *,
    acting: Acting,
    code: str,
    body: ShortUrlEdit,
    ctx: LinkContext,
    domain_id: int | None,
) -> Link:
    sent = body.model_dump(exclude_unset=True)
    _check_valid_since(sent.get("validSince"))
    renames = {
        "longUrl": "url",
        "title": "title",
        "tags": "tags",
        "validUntil": "expires_at",
        "maxVisits": "max_clicks",
        "forwardQuery": "forward_query",
    }
    changes = {ours: sent[theirs] for theirs, ours in renames.items() if theirs in sent}
    if "tags" in changes and changes["tags"] is None:
        changes["tags"] = []
    if changes.get("forward_query", False) is None:
        del changes["forward_query"]
    data = build(LinkUpdate, **changes)
    return await links.update_link(
        session, acting=acting, key=code, data=data, ctx=ctx, domain_id=domain_id
    )


# ---- the list -------------------------------------------------------------------------------

ORDERS = {
    "dateCreated": col(Link.created_at),
    "shortCode": col(Link.key),
    "longUrl": col(Link.url),
    "title": col(Link.title),
    "visits": col(Link.clicks),
}


def _human_clicks() -> Any:
    return (
        select(func.coalesce(func.sum(ClickRollup.clicks), 0))
        .where(col(ClickRollup.link_id) == col(Link.id), col(ClickRollup.is_bot).is_(False))
        .correlate(Link)
        .scalar_subquery()
    )


def _order(order_by: str | None) -> list[Any]:
    if not order_by:
        return [col(Link.created_at).desc(), col(Link.id).desc()]
    field, _, direction = order_by.partition("-")
    column = _human_clicks() if field == "nonBotVisits" else ORDERS.get(field)
    if column is None or direction.upper() not in ("", "ASC", "DESC"):
        raise problems.invalid_data(["orderBy"], f"cannot order by '{order_by}'")
    if direction.upper() == "DESC":
        return [column.desc(), col(Link.id).desc()]
    return [column.asc(), col(Link.id).asc()]


def _with_tags(tags: list[str], mode: str | None) -> ColumnElement[bool]:
    if mode == "all":
        return and_(*(links.tagged(tag) for tag in tags))
    return links.tagged(*tags)


def list_conditions(
    acting: Acting,
    *,
    search: str | None,
    tags: list[str],
    tags_mode: str | None,
    exclude_tags: list[str],
    exclude_tags_mode: str | None,
    start: datetime | None,
    end: datetime | None,
    exclude_max_visits_reached: bool,
    exclude_past_valid_until: bool,
    domain: DomainFilter,
) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [links.visible_to(acting), on_domain(domain)]
    if search:
        found.append(or_(links.search(search), links.tagged(search)))
    if tags:
        found.append(_with_tags(tags, tags_mode))
    if exclude_tags:
        found.append(~_with_tags(exclude_tags, exclude_tags_mode))
    if start is not None:
        found.append(col(Link.created_at) >= start)
    if end is not None:
        found.append(col(Link.created_at) <= end)
    if exclude_max_visits_reached:
        found.append(or_(col(Link.max_clicks).is_(None), col(Link.uses) < col(Link.max_clicks)))
    if exclude_past_valid_until:
        found.append(or_(col(Link.expires_at).is_(None), col(Link.expires_at) > datetime.now(UTC)))
    return found


async def list_links(
    session: AsyncSession,
    *,
    conditions: list[ColumnElement[bool]],
    order_by: str | None,
    page: int,
    per_page: int,
) -> tuple[list[Link], int]:
    order = _order(order_by)
    total = (
        await session.execute(select(func.count()).select_from(Link).where(*conditions))
    ).scalar_one()
    query = select(Link).where(*conditions).order_by(*order)
    if per_page != ALL_ITEMS:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return list((await session.execute(query)).scalars()), int(total)


def tagged_links(acting: Acting, tag: str, domain: DomainFilter = "any") -> Any:
    """Ids of the acting workspace's links with `tag` (what a tag's visits are)."""
    return (
        select(col(LinkTag.link_id))
        .join(Link, col(Link.id) == col(LinkTag.link_id))
        .where(col(LinkTag.tag) == tag_form(tag), links.visible_to(acting), on_domain(domain))
    )


def visible_links(acting: Acting, domain: DomainFilter = "any") -> Any:
    return select(col(Link.id)).where(links.visible_to(acting), on_domain(domain))
