"""/dashboard/unknown-links: visits to unknown links (404s of the redirect path), for admins.

A thin page over orphans.service, the same service `GET /api/visits/orphan` answers from,
drawn with the link page's charts.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from shortener.db import SessionDep
from shortener.fields import OneLine
from shortener.orphans import service
from shortener.web.breakdowns import breakdown_chart
from shortener.web.pages import render
from shortener.web.session import PageReader
from shortener.web.stats_view import BARS, BREAKDOWNS, TOP, names_for, time_charts
from shortener.web.windows import parse_window

router = APIRouter(prefix="/dashboard/unknown-links", include_in_schema=False)
PATHS_SHOWN = 20


@router.get("")
async def unknown_links(
    request: Request,
    acting: PageReader,
    session: SessionDep,
    domain: Annotated[str | None, Query(max_length=300), OneLine] = None,
) -> Response:
    user = acting.user
    window = parse_window(
        request.query_params.get("window"),
        request.query_params.get("from"),
        request.query_params.get("to"),
        request.query_params.get("interval"),
    )
    answer = await service.orphan_stats(
        session,
        acting=acting,
        domain=(domain or "").strip() or None,
        window=window.window,
        include_bots=False,
        top=TOP,
    )
    data = answer.model_dump()
    context = {
        "window": window,
        "domain": data["domain"] or "",
        "total_visits": data["total_visits"],
        "dropped": data["dropped"],
        "chart": time_charts(data["timeseries"], window),
        "paths": data["paths"][:PATHS_SHOWN],
        "breakdowns": {
            name: breakdown_chart(
                data[name], title=title, unknown=unknown, limit=BARS, names=names_for(name)
            )
            for name, (title, unknown) in BREAKDOWNS.items()
        },
    }
    return render(request, "unknown_links.html", context, user=user)
