"""Request and response models of the links API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shortener.fields import OneLine, UtcDatetime, one_line
from shortener.keys import MAX_KEY_LENGTH
from shortener.links.options import LinkOptions
from shortener.urls import MAX_URL_LENGTH

RedirectType = Literal[301, 302, 307, 308]
KeyStrategy = Literal["random", "md5"]
MAX_TAGS = 20


def _tags(value: list[str] | None) -> list[str] | None:
    """Tags as kept: trimmed, lower-cased (`Dev` and `dev` are one tag), each once."""
    if value is None:
        return None
    seen: dict[str, None] = {}
    for raw in value:
        tag = raw.strip()
        if not tag:
            raise ValueError("a tag cannot be empty")
        if len(tag) > 64:
            raise ValueError("a tag is at most 64 characters")
        one_line(tag)
        seen.setdefault(tag_form(tag), None)
    return list(seen)


def tag_form(tag: str) -> str:
    """A tag as stored and compared: lower-cased, so a filter or a rename ignores case."""
    return tag.strip().lower()


Tags = Annotated[
    list[str],
    Field(
        max_length=MAX_TAGS,
        description="at most 20 tags of 1-64 characters; case is ignored: `Dev` and `dev` are "
        "one tag, kept and answered lower-cased",
    ),
    AfterValidator(_tags),
]
Url = Annotated[
    str,
    Field(min_length=1, max_length=MAX_URL_LENGTH, examples=["https://example.com/some/page"]),
]
Title = Annotated[str, Field(max_length=300), OneLine]
LinkPassword = Annotated[str, Field(min_length=1, max_length=1024)]
MaxClicks = Annotated[int, Field(ge=1, le=2**62)]


class _LinkFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("url", check_fields=False)
    @classmethod
    def _strip_url(cls, value: str | None) -> str | None:
        return value.strip() if isinstance(value, str) else value


class LinkCreate(LinkOptions, _LinkFields):
    url: Url
    alias: str | None = Field(default=None, max_length=MAX_KEY_LENGTH)
    key_strategy: KeyStrategy = "random"
    title: Title | None = None
    expires_at: UtcDatetime | None = None
    max_clicks: MaxClicks | None = None
    password: LinkPassword | None = None
    redirect_type: RedirectType = 302
    tags: Tags = Field(default_factory=list)
    # A verified domain of the caller's or a shared one (hostname); omitted: the default.
    domain: str | None = Field(default=None, max_length=300)


class LinkUpdate(LinkOptions, _LinkFields):
    """Only the fields sent are changed; `null` clears the optional ones."""

    url: Url | None = None
    title: Title | None = None
    expires_at: UtcDatetime | None = None
    max_clicks: MaxClicks | None = None
    password: LinkPassword | None = None
    redirect_type: RedirectType | None = None
    is_active: bool | None = None
    tags: Tags | None = None
    key: str | None = Field(
        default=None,
        max_length=64,
        description="a new key (the alias rules apply); the old one stops redirecting at once, "
        "the clicks stay with the link",
    )


class LinkPublic(LinkOptions):
    key: str
    domain: str  # the hostname of the link's domain
    short_url: str
    url: str
    title: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    max_clicks: int | None
    redirect_type: int
    has_password: bool
    is_active: bool
    tags: list[str]
    clicks: int = Field(description="people's clicks (bots' are in bot_clicks), as the stats count")
    bot_clicks: int = 0
    notes: list[str] = Field(
        default_factory=list,
        description="on create and change: how the given url was completed (https:// added, "
        "spaces encoded)",
    )


class LinkPage(BaseModel):
    items: list[LinkPublic]
    total: int
    limit: int
    offset: int
