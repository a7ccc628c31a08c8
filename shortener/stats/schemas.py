"""What the statistics endpoints answer. Answers are cached and shared: they are frozen."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Point(_Frozen):
    t: datetime = Field(description="start of the bucket (UTC)")
    clicks: int


class Share(_Frozen):
    value: str | None = Field(description="null: no referrer (direct) or not known")
    clicks: int


class LinkStats(_Frozen):
    key: str
    from_: datetime = Field(alias="from", description="window start, aligned to the interval")
    to: datetime = Field(description="window end (exclusive), aligned to the interval")
    interval: str
    include_bots: bool
    total_clicks: int = Field(
        description="clicks in the window: people's, and bots' too with include_bots"
    )
    bot_clicks: int = Field(0, description="bots' clicks in the window, whatever include_bots")
    unique_visitors: int = Field(
        description="distinct visitors per UTC day, summed over the window's days"
    )
    timeseries: list[Point]
    referrers: list[Share]
    countries: list[Share]
    browsers: list[Share]
    os: list[Share]
    devices: list[Share]
    variants: list[Share] = Field(
        default_factory=list,
        description="A/B split: clicks per variant, the value being the variant's index",
    )


class TopLink(_Frozen):
    key: str
    domain: str | None  # the custom domain's hostname; None: the default domain
    short_url: str
    url: str
    title: str | None
    clicks: int


class AccountStats(_Frozen):
    from_: datetime = Field(alias="from")
    to: datetime
    interval: str
    include_bots: bool
    total_clicks: int = Field(
        description="clicks in the window: people's, and bots' too with include_bots"
    )
    bot_clicks: int = Field(0, description="bots' clicks in the window, whatever include_bots")
    unique_visitors: int
    links: int = Field(description="how many links the account has")
    timeseries: list[Point]
    top_links: list[TopLink]
