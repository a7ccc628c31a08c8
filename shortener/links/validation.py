"""Whether a link is acceptable: the one place that says so.

Every path that creates or changes a link asks here: the API (create, patch, bulk), CSV import
(API, dashboard, CLI) and the dashboard's forms. The rules: the target URL (scheme, host, length,
never a loop back to this service), the alias, the blocklist (for the target and every other URL
a visitor may be sent to: rules, variants, fallback), expiry, and the redirect options.

What is slow and needs no database (hashing a link's password) is done by `prepare`, before the
caller writes anything, so no write lock is held while it runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shortener.auth.passwords import hash_password
from shortener.blocklist.service import blocked_among
from shortener.errors import Invalid
from shortener.keys import alias_problem, md5_hex
from shortener.links.context import LinkContext
from shortener.links.options import LinkOptions
from shortener.links.schemas import LinkCreate
from shortener.urls import URLRefused, parse_target, parse_web_url

OPTION_FIELDS = tuple(LinkOptions.model_fields)
# Redirect options that send visitors somewhere: the blocklist and the loop check hold for them.
_TARGET_LISTS = ("rules", "variants")


def check_target(url: str, ctx: LinkContext, *, field: str = "url") -> str:
    """`url` as it is stored (normalised as browsers read it: the one URL parser), for a link's
    target, a rule's, a variant's or the fallback; Invalid naming `field` when it cannot be one
    (not a web URL, or a loop back to this service: BASE_URL or a verified custom domain)."""
    try:
        return parse_target(url, own_urls=ctx.own_urls).href
    except URLRefused as exc:
        raise Invalid(str(exc), field=field) from None


def check_alias(alias: str, *, field: str = "alias") -> None:
    """The alias rules, for a new link's alias and for a link's new key alike."""
    problem = alias_problem(alias)
    if problem:
        raise Invalid(problem, field=field)


def imported_key_problem(key: str) -> str | None:
    """Keys from other shorteners are kept when they can work as keys here.

    The alias rules apply, except the 3-character minimum: YOURLS and others hand out 1- and
    2-character keys, and those redirect fine. Reserved words never do (the service's own pages
    answer those paths), so they stay refused.
    """
    problem = alias_problem(key, short_segments=True)
    return None if problem is None else f"key: {problem}"


def check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise Invalid("expires_at must be in the future", field="expires_at")


def option_columns(values: dict[str, Any], ctx: LinkContext) -> dict[str, Any]:
    """The redirect options among `values`, checked, as columns."""
    columns: dict[str, Any] = {}
    for name in OPTION_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name in ("forward_query", "forward_path") and value is None:
            raise Invalid(f"{name} cannot be null", field=name)
        if name in _TARGET_LISTS:
            if value:
                value = [
                    {k: v for k, v in item.items() if v is not None}
                    | {"url": check_target(item["url"], ctx, field=f"{name}.{i}.url")}
                    for i, item in enumerate(value)
                ]
            else:
                value = None  # an empty list means "none"
        if name == "fallback_url" and value:
            value = check_target(value, ctx, field=name)
        if name == "og_image" and value:
            # An image may live anywhere, this host included; it only has to be a web URL.
            try:
                value = parse_web_url(value).href
            except URLRefused as exc:
                raise Invalid(str(exc), field=name) from None
        columns[name] = value
    return columns


def targets(url: str | None, columns: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (field, URL) a visitor of the link may be sent to."""
    found = [("url", url)] if url else []
    for name in _TARGET_LISTS:
        items = columns.get(name) or []
        found += [(f"{name}.{i}.url", item["url"]) for i, item in enumerate(items)]
    if columns.get("fallback_url"):
        found.append(("fallback_url", columns["fallback_url"]))
    return found


async def check_not_blocked(
    session: AsyncSession, fields: Iterable[tuple[str, str]], ctx: LinkContext
) -> None:
    """Invalid naming the first field whose URL is on the blocklist (one query for all)."""
    fields = list(fields)
    blocked = await blocked_among(session, [url for _, url in fields], ctx.blocked_domains)
    for name, url in fields:
        if url in blocked:
            raise Invalid(
                f"links to {blocked[url]} (and its subdomains) are not allowed", field=name
            )


async def blocked_urls(
    session: AsyncSession, urls: Iterable[str], ctx: LinkContext
) -> dict[str, str]:
    """URL -> the blocked domain it falls under, for those of `urls` that do (imports)."""
    return await blocked_among(session, list(urls), ctx.blocked_domains)


@dataclass(slots=True)
class NewLink:
    """A link that passed every check that needs no database; the columns to insert."""

    columns: dict[str, Any]
    tags: list[str]
    alias: str | None
    key_strategy: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # URLs for the blocklist
    domain: str | None = None  # the hostname asked for (checked against the database later)


async def prepare(data: LinkCreate, ctx: LinkContext) -> NewLink:
    """Check a new link and do its slow work (the password's hash); no database is touched."""
    url = check_target(data.url, ctx)
    check_expiry(data.expires_at)
    if data.alias is not None:
        check_alias(data.alias)
    options = option_columns(data.model_dump(include=set(OPTION_FIELDS)), ctx)
    columns: dict[str, Any] = {
        "url": url,
        "url_md5": md5_hex(url),
        "title": data.title,
        "expires_at": data.expires_at,
        "max_clicks": data.max_clicks,
        "redirect_type": data.redirect_type,
        "password_hash": await hash_password(data.password) if data.password else None,
        **options,
    }
    return NewLink(
        columns=columns,
        tags=data.tags,
        alias=ctx.key(data.alias) if data.alias is not None else None,
        key_strategy=data.key_strategy,
        fields=targets(url, options),
        domain=data.domain,
    )
