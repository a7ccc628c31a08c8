"""The actions of /yourls-api.php, each a thin call into the links service answered with the
fields YOURLS clients read (functions-api.php and yourls_add_new_link in YOURLS 1.9).

Results are plain dicts in YOURLS's shape; `simple` is the plain-text answer. A domain error
from the service becomes a YOURLS failure here (`status: fail`, a `code` such as
`error:keyword`, `message`, and `statusCode`/`errorCode` as the HTTP status), because that is
how YOURLS reports them: as results, in the format asked for.

No answer carries an address: YOURLS's `ip` field is kept for clients that read it, always
empty (this service never stores visitors' or creators' addresses).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shortener.domains import service as domains_service
from shortener.errors import Conflict, DomainError, Invalid, NotFound
from shortener.links import service as links_service
from shortener.links import validation
from shortener.links.context import LinkContext
from shortener.links.quota import LinkQuota
from shortener.links.schemas import LinkCreate
from shortener.links.service import LinkOrder
from shortener.models import Link
from shortener.transfer.service import describe
from shortener.workspaces.acting import Acting
from shortener.workspaces.roles import Permission

VERSION = "1.9.2"  # the YOURLS release whose API this follows (clients may check it)
DB_VERSION = "506"
NO_IP = ""  # see the module's docstring
MAX_STATS_LIMIT = 1000
FILTERS: dict[str, LinkOrder] = {
    "top": "top",
    "bottom": "bottom",
    "last": "last",
    "rand": "random",
    "random": "random",
}
# YOURLS's failure codes for the fields it knows; a title too long is ours ("error:invalid").
FIELD_CODES = {"alias": "error:keyword", "url": "error:nourl"}
NEED_FORMAT = "Need either XML or JSON format for stats"

Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    session: AsyncSession
    acting: Acting
    ctx: LinkContext
    quota: LinkQuota
    params: Mapping[str, str]

    def need(self, scope: Permission) -> None:
        if not self.acting.may(scope):
            raise self.acting.refusal(scope)

    async def short_urls(self, links: Sequence[Link]) -> list[str]:
        """Each link's short URL, on its own domain."""
        return await domains_service.link_short_urls(self.session, links, self.ctx.base_url)

    async def short_url(self, link: Link) -> str:
        return (await self.short_urls([link]))[0]


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _fail(code: str, message: str, status: int = 400) -> Result:
    return {"status": "fail", "code": code, "message": message, "errorCode": status,
            "statusCode": status, "simple": message}  # fmt: skip


def _url_of(link: Link) -> Result:
    return {"keyword": link.key, "url": link.url, "title": link.title or "",
            "date": _date(link.created_at), "ip": NO_IP}  # fmt: skip


async def shorturl(call: Call) -> Result:
    url = call.params.get("url", "").strip()
    if url in ("", "http://", "https://"):
        return _fail("error:nourl", "Missing or malformed URL")
    call.need("links:write")
    keyword = call.params.get("keyword", "").strip() or None
    title = call.params.get("title", "").strip() or None
    try:
        data = LinkCreate(url=url, alias=keyword, title=title)
        # YOURLS_UNIQUE_URLS: a URL this user shortened before is answered with its link.
        stored = validation.check_target(data.url, call.ctx)
        existing = await links_service.link_for_url(
            call.session, acting=call.acting, url=stored, domain_id=None
        )
        if existing is not None:
            existing_url = await call.short_url(existing)
            return {
                "status": "fail",
                "code": "error:url",
                "url": _url_of(existing) | {"clicks": existing.clicks},
                "message": f"{stored} already exists in database",
                "title": existing.title or "",
                "shorturl": existing_url,
                # 200 as in YOURLS 1.7 ("still a valid request"; 1.8 made it 400): ShareX and
                # the WordPress plugins then show the short URL instead of an error.
                "statusCode": 200,
                "simple": existing_url,
            }
        link, _ = await links_service.create_link(
            call.session, acting=call.acting, data=data, ctx=call.ctx, quota=call.quota
        )
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        return _fail(FIELD_CODES.get(field, "error:invalid"), describe(exc.errors()))
    except Conflict as exc:
        return _fail("error:keyword", str(exc.detail))
    except Invalid as exc:
        message = describe(exc.detail)
        if message.startswith("alias"):
            return _fail("error:keyword", message)
        return _fail("error:noloop" if "point back" in message else "error:nourl", message)
    made = await call.short_url(link)
    return {
        "url": _url_of(link),
        "status": "success",
        "message": f"{link.url} added to database",
        "title": link.title or "",
        "shorturl": made,
        "statusCode": 200,
        "simple": made,
    }


def _keyword(call: Call) -> tuple[str | None, str] | None:
    """The domain and key `shorturl` names: the whole short URL, on any domain (None: the
    default one), or the keyword alone, on the default domain."""
    shorturl = call.params.get("shorturl")
    if shorturl is None:
        return None
    prefix = call.ctx.base_url + "/"
    if shorturl.startswith(prefix):
        return None, shorturl[len(prefix) :]
    parts = urlsplit(shorturl) if "://" in shorturl else None
    if parts is not None and parts.scheme in ("http", "https") and parts.hostname:
        return parts.hostname, parts.path.removeprefix("/")
    return None, shorturl


async def _own_link(call: Call, named: tuple[str | None, str]) -> Link | None:
    hostname, key = named
    try:
        domain_id = await domains_service.domain_id_of(
            call.session, acting=call.acting, hostname=hostname, ctx=call.ctx
        )
        return await links_service.get_link(
            call.session, acting=call.acting, key=key, domain_id=domain_id
        )
    except (NotFound, Invalid):  # a domain not theirs, or no host name at all: not found
        return None


MISSING_SHORTURL = {"errorCode": 400, "message": "Missing shorturl parameter",
                    "simple": "Missing shorturl parameter"}  # fmt: skip


async def expand(call: Call) -> Result:
    call.need("links:read")
    named = _keyword(call)
    if named is None:
        return dict(MISSING_SHORTURL)
    link = await _own_link(call, named)
    if link is None:
        return {"keyword": named[1], "simple": "not found",
                "message": "Error: short URL not found", "errorCode": 404}  # fmt: skip
    return {
        "keyword": link.key,
        "shorturl": await call.short_url(link),
        "longurl": link.url,
        "title": link.title or "",
        "simple": link.url,
        "message": "success",
        "statusCode": 200,
    }


def _link_stats(link: Link, short_url: str) -> Result:
    return {
        "shorturl": short_url,
        "url": link.url,
        "title": link.title or "",
        "timestamp": _date(link.created_at),
        "ip": NO_IP,
        "clicks": link.clicks,
    }


async def url_stats(call: Call) -> Result:
    call.need("stats:read")
    named = _keyword(call)
    if named is None:
        return dict(MISSING_SHORTURL)
    link = await _own_link(call, named)
    if link is None:
        return {"statusCode": 404, "message": "Error: short URL not found",
                "simple": "Error: short URL not found"}  # fmt: skip
    found = _link_stats(link, await call.short_url(link))
    return {"statusCode": 200, "message": "success", "link": found,
            "simple": NEED_FORMAT}  # fmt: skip


async def _db_stats(call: Call) -> Result:
    count, clicks = await links_service.link_totals(call.session, acting=call.acting)
    return {"total_links": count, "total_clicks": clicks}


async def stats(call: Call) -> Result:
    call.need("stats:read")
    order = FILTERS.get(call.params.get("filter", "top"), "top")
    limit = _whole(call.params.get("limit"), 10, MAX_STATS_LIMIT)
    start = _whole(call.params.get("start"), 0, 2**31)
    result: Result = {}
    if limit > 0:
        links = await links_service.ranked_links(
            call.session, acting=call.acting, order=order, limit=limit, offset=start
        )
        urls = await call.short_urls(links)
        result["links"] = {f"link_{i}": _link_stats(link, url) for i, (link, url) in
                           enumerate(zip(links, urls, strict=True), 1)}  # fmt: skip
    return result | {"stats": await _db_stats(call), "statusCode": 200, "message": "success",
                     "simple": NEED_FORMAT}  # fmt: skip


def _whole(value: str | None, default: int, most: int) -> int:
    """PHP's intval as YOURLS applies it: anything but digits is the default here."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return default
    return min(int(value), most)


async def db_stats(call: Call) -> Result:
    call.need("stats:read")
    return {"db-stats": await _db_stats(call), "statusCode": 200, "message": "success",
            "simple": NEED_FORMAT}  # fmt: skip


async def version(call: Call) -> Result:
    result: Result = {"version": VERSION, "simple": VERSION}
    if call.params.get("db") == "1":
        result["db_version"] = DB_VERSION
    return result


ACTIONS: dict[str, Callable[[Call], Awaitable[Result]]] = {
    "shorturl": shorturl,
    "expand": expand,
    "url-stats": url_stats,
    "stats": stats,
    "db-stats": db_stats,
    "version": version,
}
UNKNOWN_ACTION = 'Unknown or missing "action" parameter'


async def run(call: Call) -> Result:
    action = ACTIONS.get(call.params.get("action", ""))
    if action is None:
        return {"errorCode": 400, "message": UNKNOWN_ACTION, "simple": UNKNOWN_ACTION}
    try:
        return await action(call)
    except DomainError as exc:
        return failure(exc)


def failure(exc: DomainError) -> Result:
    """A refusal outside any action's own failures (a scope, a workspace), as YOURLS answers."""
    message = describe(exc.detail)
    return {"errorCode": exc.status_code, "message": message, "simple": message}
