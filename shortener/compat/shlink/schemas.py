"""Shlink's request and response shapes (as @shlinkio/shlink-js-sdk types them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shortener.fields import UtcDatetime


class _In(BaseModel):
    # Shlink ignores fields it does not know (older and newer clients send some): so do we.
    model_config = ConfigDict(extra="ignore")


class ShortUrlEdit(_In):
    longUrl: str | None = None
    title: str | None = None
    tags: list[str] | None = None
    crawlable: bool | None = None
    forwardQuery: bool | None = None
    validSince: UtcDatetime | None = None
    validUntil: UtcDatetime | None = None
    maxVisits: int | None = None


class ShortUrlCreate(ShortUrlEdit):
    longUrl: str  # type: ignore[assignment]
    customSlug: str | None = None
    shortCodeLength: int | None = None
    domain: str | None = None
    findIfExists: bool = False


class TagRenaming(_In):
    oldName: str
    newName: str


class Condition(_In):
    type: str
    matchKey: str | None = None
    matchValue: str | None = None


class RedirectRuleIn(_In):
    longUrl: str
    conditions: list[Condition] = Field(default_factory=list)


class RedirectRulesIn(_In):
    redirectRules: list[RedirectRuleIn] = Field(default_factory=list)


class DomainRedirectsIn(_In):
    domain: str
    baseUrlRedirect: str | None = None
    regular404Redirect: str | None = None
    invalidShortUrlRedirect: str | None = None


# ---- answers -----------------------------------------------------------------------------


class VisitsSummary(BaseModel):
    total: int
    nonBots: int
    bots: int


class Meta(BaseModel):
    validSince: str | None
    validUntil: str | None
    maxVisits: int | None


class ShortUrl(BaseModel):
    shortCode: str
    shortUrl: str
    longUrl: str
    dateCreated: str
    visitsSummary: VisitsSummary
    tags: list[str]
    meta: Meta
    domain: str | None
    title: str | None
    crawlable: bool
    forwardQuery: bool
    hasRedirectRules: bool


class Pagination(BaseModel):
    currentPage: int
    pagesCount: int
    itemsPerPage: int
    itemsInCurrentPage: int
    totalItems: int


class ShortUrlPage(BaseModel):
    data: list[ShortUrl]
    pagination: Pagination


class ShortUrlList(BaseModel):
    shortUrls: ShortUrlPage


class VisitLocation(BaseModel):
    countryCode: str | None
    countryName: str | None
    regionName: str | None
    cityName: str | None
    latitude: float | None
    longitude: float | None
    timezone: str | None
    isEmpty: bool


class Visit(BaseModel):
    referer: str
    date: str
    userAgent: str
    visitLocation: VisitLocation | None
    potentialBot: bool
    visitedUrl: str
    redirectUrl: str | None
    type: Literal["base_url", "invalid_short_url", "regular_404"] | None = None


class VisitPage(BaseModel):
    data: list[Visit]
    pagination: Pagination


class VisitList(BaseModel):
    visits: VisitPage


class VisitsOverviewBody(BaseModel):
    nonOrphanVisits: VisitsSummary
    orphanVisits: VisitsSummary
    visitsCount: int
    orphanVisitsCount: int


class VisitsOverview(BaseModel):
    visits: VisitsOverviewBody


class DeletedVisits(BaseModel):
    deletedVisits: int


class TagNames(BaseModel):
    data: list[str]


class TagList(BaseModel):
    tags: TagNames


class TagStats(BaseModel):
    tag: str
    shortUrlsCount: int
    visitsSummary: VisitsSummary


class TagStatsPage(BaseModel):
    data: list[TagStats]


class TagStatsList(BaseModel):
    tags: TagStatsPage


class DomainRedirects(BaseModel):
    baseUrlRedirect: str | None
    regular404Redirect: str | None
    invalidShortUrlRedirect: str | None


class Domain(BaseModel):
    domain: str
    isDefault: bool
    redirects: DomainRedirects


class DomainPage(BaseModel):
    data: list[Domain]
    defaultRedirects: DomainRedirects


class DomainList(BaseModel):
    domains: DomainPage


class ConditionOut(BaseModel):
    type: str
    matchKey: str | None
    matchValue: str | None


class RedirectRule(BaseModel):
    longUrl: str
    priority: int
    conditions: list[ConditionOut]


class RedirectRules(BaseModel):
    defaultLongUrl: str
    redirectRules: list[RedirectRule]


class Health(BaseModel):
    status: Literal["pass", "fail"]
    version: str
    links: dict[str, Any] = Field(default_factory=dict)


class Problem(BaseModel):
    """Every error under /rest/ (application/problem+json)."""

    type: str
    title: str
    detail: str
    status: int
    model_config = ConfigDict(extra="allow")
