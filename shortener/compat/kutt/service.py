"""Kutt v2's operations as calls into the links and stats services: Kutt's fields in, Kutt's
link object out, our rules (validation, quotas, ownership) all the way through."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shortener.compat.kutt.schemas import (
    KuttCreate,
    KuttEdit,
    KuttLink,
    kutt_id,
    link_id_of,
    parse_expire_in,
)
from shortener.domains import service as domains_service
from shortener.errors import Invalid, NotFound
from shortener.links import service as links_service
from shortener.links import validation
from shortener.links.context import LinkContext
from shortener.links.quota import LinkQuota
from shortener.links.schemas import LinkCreate, LinkUpdate
from shortener.models import Link
from shortener.stats import service as stats_service
from shortener.stats.cache import StatsCache
from shortener.stats.schemas import LinkStats, Share
from shortener.stats.window import Window
from shortener.workspaces.acting import Acting

MAX_LIMIT = 50  # Kutt's own cap on a page


async def to_kutt(session: AsyncSession, links: list[Link], base_url: str) -> list[KuttLink]:
    """Kutt's link objects, each with the short URL on its own domain."""
    urls = await domains_service.link_short_urls(session, links, base_url)
    return [
        KuttLink(
            id=kutt_id(link.id or 0),
            address=link.key,
            description=link.title,
            expire_in=link.expires_at,
            link=url,
            password=link.password_hash is not None,
            target=link.url,
            visit_count=link.clicks,
            created_at=link.created_at,
            updated_at=link.updated_at,
        )
        for link, url in zip(links, urls, strict=True)
    ]


def _expiry(expire_in: str | None) -> datetime | None:
    return datetime.now(UTC) + parse_expire_in(expire_in) if expire_in else None


async def create(
    session: AsyncSession, *, acting: Acting, body: KuttCreate, ctx: LinkContext, quota: LinkQuota
) -> tuple[Link, bool]:
    """The new link and True; with `reuse`, this user's link to the target and False."""
    data = LinkCreate(
        url=body.target,
        domain=body.domain,
        alias=body.customurl,
        title=body.description,
        password=body.password,
        expires_at=_expiry(body.expire_in),
    )
    if body.reuse:
        stored = validation.check_target(data.url, ctx)
        domain = await domains_service.domain_for_links(
            session, acting=acting, hostname=data.domain, ctx=ctx
        )
        existing = await links_service.link_for_url(
            session, acting=acting, url=stored, domain_id=domain.id if domain else None
        )
        if existing is not None:
            return existing, False
    return await links_service.create_link(session, acting=acting, data=data, ctx=ctx, quota=quota)


async def find(session: AsyncSession, *, acting: Acting, kutt: str) -> Link:
    """The link a Kutt id names (its uuid, or the address itself), if `acting` may see it."""
    link_id = link_id_of(kutt)
    if link_id is not None:
        link = await session.get(Link, link_id)
        if link is None:
            raise NotFound("Link was not found.")
        try:
            return await links_service.get_link(
                session, acting=acting, key=link.key, domain_id=link.domain_id
            )
        except NotFound:
            raise NotFound("Link was not found.") from None
    try:
        return await links_service.get_link(session, acting=acting, key=kutt)
    except NotFound:
        raise NotFound("Link was not found.") from None


async def edit(
    session: AsyncSession, *, acting: Acting, kutt: str, body: KuttEdit, ctx: LinkContext
) -> Link:
    link = await find(session, acting=acting, kutt=kutt)
    if body.address is not None and body.address != link.key:
        raise Invalid("address: a link's address cannot be changed here", field="address")
    sent = body.model_fields_set
    values: dict[str, object] = {}
    if body.target:
        values["url"] = body.target
    if "description" in sent:
        values["title"] = body.description or None  # "" clears it, as in Kutt
    if "password" in sent:
        values["password"] = body.password or None
    if "expire_in" in sent:
        values["expires_at"] = _expiry(body.expire_in)
    changes = LinkUpdate.model_validate(values)
    return await links_service.update_link(
        session, acting=acting, key=link.key, domain_id=link.domain_id, data=changes, ctx=ctx
    )


def _windows(now: datetime) -> dict[str, Window]:
    hour = int(now.timestamp()) // 3600 * 3600 + 3600
    day = int(now.timestamp()) // 86_400 * 86_400 + 86_400
    return {
        "lastDay": Window(hour - 24 * 3600, hour, "hour"),
        "lastWeek": Window(day - 7 * 86_400, day, "day"),
        "lastMonth": Window(day - 30 * 86_400, day, "day"),
        # Kutt's all-time views are months: the last 18, summed from days.
        "allTime": Window(day - 549 * 86_400, day, "day"),
    }


def _named(shares: list[Share]) -> list[dict[str, object]]:
    return [{"name": share.value or "other", "value": share.clicks} for share in shares]


def _period(stats: LinkStats, name: str) -> dict[str, object]:
    views = [point.clicks for point in stats.timeseries]
    if name == "allTime":
        months: dict[tuple[int, int], int] = defaultdict(int)
        for point in stats.timeseries:
            months[(point.t.year, point.t.month)] += point.clicks
        views = [months[month] for month in sorted(months)][-18:]
    return {
        "stats": {
            "browser": _named(stats.browsers),
            "os": _named(stats.os),
            "country": _named(stats.countries),
            "referrer": _named(stats.referrers),
        },
        "views": views,
    }


async def stats(
    session: AsyncSession, *, acting: Acting, kutt: str, base_url: str, cache: StatsCache
) -> dict[str, object]:
    """Kutt's stats object: the link, and per period its breakdowns and views."""
    link = await find(session, acting=acting, kutt=kutt)
    now = datetime.now(UTC)
    answer: dict[str, object] = (await to_kutt(session, [link], base_url))[0].model_dump(
        mode="json"
    )
    for name, window in _windows(now).items():
        computed = await stats_service.link_stats(
            session, acting=acting, key=link.key, window=window, include_bots=False, top=100,
            cache=cache, domain_id=link.domain_id,
        )  # fmt: skip
        answer[name] = _period(computed, name)
    answer["updatedAt"] = now.isoformat()
    return answer
