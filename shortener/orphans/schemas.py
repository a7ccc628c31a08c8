"""What `GET /api/visits/orphan` answers: a link's statistics, for requests no link answered."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shortener.stats.schemas import Point, Share, _Frozen


class OrphanStats(_Frozen):
    domain: str | None = Field(description="the domain asked about; null: every domain")
    from_: datetime = Field(alias="from", description="window start, aligned to the interval")
    to: datetime = Field(description="window end (exclusive), aligned to the interval")
    interval: str
    include_bots: bool
    total_visits: int = Field(description="visits recorded (within the per-minute cap)")
    dropped: int = Field(
        description="visits past ORPHAN_VISITS_PER_MINUTE: counted here only (bots or not)"
    )
    timeseries: list[Point] = Field(description="visits per bucket (`clicks` counts visits)")
    paths: list[Share] = Field(description="the paths asked for most")
    referrers: list[Share]
    countries: list[Share]
    browsers: list[Share]
    os: list[Share]
    devices: list[Share]
