"""Reading another shortener's links (and Shlink's visits) through its API, a page at a time,
as the rows the import service takes: `shortener import --from shlink|yourls|kutt URL`.

Each source speaks its own documented API: YOURLS's `action=stats&filter=last` (with `start`),
Kutt's `GET /api/v2/links?limit=&skip=`, Shlink's `GET /rest/v3/short-urls?page=&itemsPerPage=`
and `.../short-urls/{shortCode}/visits`. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx

from shortener.clicks.events import ImportedClick
from shortener.transfer.formats import ImportRow, RowError, key_of_short_url, parse_datetime

SourceName = Literal["shlink", "yourls", "kutt"]
SOURCES: tuple[SourceName, ...] = ("shlink", "yourls", "kutt")
PAGE = {"shlink": 500, "yourls": 500, "kutt": 50}  # Kutt serves at most 50 a page


class RemoteError(Exception):
    """The source could not be read; the message says why (for the command line)."""


@dataclass(slots=True)
class Page:
    rows: list[ImportRow | RowError]
    total: int | None  # links the source says it has, when it says so


@dataclass(frozen=True, slots=True)
class Visit:
    """A Shlink visit, as a click: what our click writer derives everything else from."""

    ts: float
    user_agent: str
    referrer: str
    country: str | None
    is_bot: bool | None = None  # Shlink's potentialBot: its word, not the user agent's


class Remote:
    """One running instance of `source` at `url`, read with `api_key`."""

    def __init__(
        self,
        source: SourceName,
        url: str,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.source = source
        self.url = url.rstrip("/")
        self.api_key = api_key
        headers = {"X-Api-Key": api_key, "Accept": "application/json"}
        if source == "yourls":
            headers = {"Accept": "application/json"}
        self.http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=30, transport=transport
        )
        self.line = 0  # rows are numbered in the order the source lists them
        # Shlink short codes on a domain other than its default one: their visits are asked
        # for with ?domain= (the code alone names the default domain's).
        self.shlink_domains: dict[str, str] = {}

    async def __aenter__(self) -> Remote:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.http.aclose()

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            response = await self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach {self.url}{path}: {exc}") from None
        if response.status_code in (401, 403):
            raise RemoteError(
                f"{self.url} refused the API key (HTTP {response.status_code}): "
                f"{response.text[:200]}"
            )
        if response.status_code != 200:
            raise RemoteError(
                f"{self.url}{path} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        try:
            return response.json()
        except ValueError:
            raise RemoteError(f"{self.url}{path} did not answer JSON") from None

    async def pages(self) -> AsyncIterator[Page]:
        """The source's links, a page at a time. JSON of another shape than the source's API
        documents (a list for an object, a word for a count: not that software, or a proxy's
        page) is a RemoteError, not whatever Python says about it."""
        read = {"yourls": self._yourls, "kutt": self._kutt, "shlink": self._shlink}[self.source]
        pages = read()
        while True:
            try:
                page = await anext(pages)
            except StopAsyncIteration:
                return
            except (AttributeError, TypeError, ValueError, KeyError) as exc:
                raise RemoteError(
                    f"{self.url} did not answer as {self.source} does ({exc})"
                ) from None
            yield page

    def _row(self, url: Any, key: Any, **fields: Any) -> ImportRow | RowError:
        self.line += 1
        if not isinstance(url, str) or not url:
            return RowError(self.line, "url: the source gave no URL")
        try:
            return ImportRow(
                line=self.line,
                url=url,
                key=key if isinstance(key, str) and key else None,
                title=fields.get("title") or None,
                tags=[t for t in fields.get("tags") or [] if isinstance(t, str)],
                created_at=_moment(fields.get("created_at"), "created_at"),
                expires_at=_moment(fields.get("expires_at"), "expires_at"),
                max_clicks=_whole(fields.get("max_clicks")),
            )
        except (ValueError, TypeError) as exc:
            return RowError(self.line, str(exc))

    async def _yourls(self) -> AsyncIterator[Page]:
        start, size = 0, PAGE["yourls"]
        while True:
            answer = await self._get(
                "/yourls-api.php",
                {"action": "stats", "filter": "last", "limit": size, "start": start,
                 "format": "json", "signature": self.api_key},
            )  # fmt: skip
            links = list((answer.get("links") or {}).values())
            total = int((answer.get("stats") or {}).get("total_links", 0))
            yield Page(
                [
                    self._row(
                        link.get("url"),
                        key_of_short_url(str(link.get("shorturl", ""))),
                        title=link.get("title"),
                        created_at=link.get("timestamp"),
                    )
                    for link in links
                ],
                total,
            )
            start += len(links)
            if len(links) < size or start >= total:
                return

    async def _kutt(self) -> AsyncIterator[Page]:
        skip, size = 0, PAGE["kutt"]
        while True:
            answer = await self._get("/api/v2/links", {"limit": size, "skip": skip})
            links = answer.get("data") or []
            yield Page(
                [
                    self._row(
                        link.get("target"),
                        link.get("address"),
                        title=link.get("description"),
                        created_at=link.get("created_at"),
                        expires_at=link.get("expire_in"),
                    )
                    for link in links
                ],
                int(answer.get("total", 0)),
            )
            skip += len(links)
            if not links or skip >= int(answer.get("total", 0)):
                return

    async def _shlink(self) -> AsyncIterator[Page]:
        page, size = 1, PAGE["shlink"]
        while True:
            answer = await self._get("/rest/v3/short-urls", {"page": page, "itemsPerPage": size})
            block = answer.get("shortUrls") or {}
            pagination = block.get("pagination") or {}
            links = block.get("data") or []
            for link in links:
                if link.get("domain") and isinstance(link.get("shortCode"), str):
                    self.shlink_domains[link["shortCode"]] = str(link["domain"])
            yield Page(
                [
                    self._row(
                        link.get("longUrl"),
                        link.get("shortCode"),
                        title=link.get("title"),
                        tags=link.get("tags"),
                        created_at=link.get("dateCreated"),
                        expires_at=(link.get("meta") or {}).get("validUntil"),
                        max_clicks=(link.get("meta") or {}).get("maxVisits"),
                    )
                    for link in links
                ],
                pagination.get("totalItems"),
            )
            if not links or page >= int(pagination.get("pagesCount", page)):
                return
            page += 1

    async def shlink_visits(self, short_code: str) -> list[Visit]:
        """Every visit of a Shlink short URL (on its default domain), oldest first."""
        visits: list[Visit] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "itemsPerPage": 5000}
            if short_code in self.shlink_domains:
                params["domain"] = self.shlink_domains[short_code]
            answer = await self._get(f"/rest/v3/short-urls/{short_code}/visits", params)
            block = answer.get("visits") or {}
            for item in block.get("data") or []:
                visit = _visit(item)
                if visit is not None:
                    visits.append(visit)
            pages = int((block.get("pagination") or {}).get("pagesCount", page))
            if not block.get("data") or page >= pages:
                break
            page += 1
        visits.sort(key=lambda v: v.ts)
        return visits


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _moment(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    # YOURLS writes "2020-01-01 10:00:00" (its server's time, taken as UTC).
    return parse_datetime(str(value).replace(" ", "T", 1), name)


def _visit(item: Any) -> Visit | None:
    if not isinstance(item, dict):
        return None
    try:
        moment = parse_datetime(str(item.get("date", "")), "date")
    except ValueError:
        return None
    if moment is None:
        return None
    location = item.get("visitLocation") or {}
    country = location.get("countryCode") if isinstance(location, dict) else None
    country = country.upper() if isinstance(country, str) and len(country) == 2 else None
    return Visit(
        ts=moment.timestamp(),
        user_agent=str(item.get("userAgent") or "")[:1000],
        referrer=str(item.get("referer") or "")[:2048],
        country=country if country and country.isalpha() and country.isascii() else None,
        is_bot=item.get("potentialBot") if isinstance(item.get("potentialBot"), bool) else None,
    )


def clicks_of(
    origin: str, short_code: str, link_id: int, visits: list[Visit]
) -> list[ImportedClick]:
    """The visits as clicks of `link_id`, with ids made from what the visit is: importing the
    same visits again writes nothing twice (the click writer skips ids it has)."""
    seen: Counter[Visit] = Counter()
    clicks = []
    for visit in visits:
        seen[visit] += 1  # alike visits (same second, agent...) apart by their order
        material = "\0".join(
            (origin, short_code, repr(visit.ts), visit.user_agent, visit.referrer,
             visit.country or "", str(seen[visit]))
        )  # fmt: skip
        clicks.append(
            ImportedClick(
                link_id=link_id,
                ts=visit.ts,
                user_agent=visit.user_agent,
                referrer=visit.referrer,
                country=visit.country,
                is_bot=visit.is_bot,
                id="i" + hashlib.sha256(material.encode()).hexdigest()[:31],
            )
        )
    return clicks
