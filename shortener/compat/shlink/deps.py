"""What the Shlink routes take: the key in `?apiKey=`, bodies as JSON or forms, dates, paging."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from shortener.auth.deps import Principal, current_principal
from shortener.compat.shlink import problems
from shortener.compat.shlink.schemas import ShortUrlCreate
from shortener.compat.shlink.service import build
from shortener.compat.shlink.visits import VisitQuery, page_size
from shortener.db import SessionDep
from shortener.errors import Unauthorized
from shortener.fields import utc_moment
from shortener.workspaces.acting import Acting
from shortener.workspaces.deps import WORKSPACE_HEADER, act

LIST_FIELDS = ("tags",)


async def query_key_writer(
    request: Request, session: SessionDep, apiKey: Annotated[str, Query(max_length=200)] = ""
) -> Acting:
    """`GET /short-urls/shorten` carries the key in the query (for tools that only do GETs)."""
    if not apiKey:
        raise Unauthorized()
    principal: Principal = await current_principal(request, session, None, apiKey)
    acting = await act(session, principal, request.headers.get(WORKSPACE_HEADER))
    if not acting.may("links:write"):
        raise acting.refusal("links:write")
    return acting


QueryKeyWriter = Annotated[Acting, Depends(query_key_writer)]


async def create_body(request: Request) -> ShortUrlCreate:
    """Shlink takes a new short URL as JSON or as a form (`tags[]` repeated)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    values: Any
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        values = {}
        for name in form:
            field = name.removesuffix("[]")
            if field in LIST_FIELDS:
                values[field] = [str(v) for v in form.getlist(name)]
            else:
                values[field] = str(form[name])
    else:
        try:
            values = json.loads(await request.body() or b"{}")
        except ValueError:
            raise problems.invalid_data([], "the body is not valid JSON") from None
    if not isinstance(values, dict):
        raise problems.invalid_data([], "the body must be a JSON object")
    return build(ShortUrlCreate, **{str(k): v for k, v in values.items()})


CreateBody = Annotated[ShortUrlCreate, Depends(create_body)]


def parse_date(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 date or datetime (UTC when it has no offset), as Shlink reads them."""
    if not value:
        return None
    try:
        return utc_moment(datetime.fromisoformat(value))
    except ValueError:
        raise problems.invalid_data([name], f"{name} is not an ISO 8601 date") from None


def _start(startDate: Annotated[str | None, Query(max_length=64)] = None) -> datetime | None:
    return parse_date(startDate, "startDate")


def _end(endDate: Annotated[str | None, Query(max_length=64)] = None) -> datetime | None:
    return parse_date(endDate, "endDate")


StartDate = Annotated[datetime | None, Depends(_start)]
EndDate = Annotated[datetime | None, Depends(_end)]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
# -1 is Shlink's "all items".
ItemsPerPage = Annotated[int, Query(ge=-1, le=1_000_000)]


def visit_query(
    start: StartDate,
    end: EndDate,
    page: Page = 1,
    itemsPerPage: ItemsPerPage = 5000,
    excludeBots: bool = False,
) -> VisitQuery:
    return VisitQuery(start, end, page, page_size(itemsPerPage), include_bots=not excludeBots)


Visits = Annotated[VisitQuery, Depends(visit_query)]
Domain = Annotated[str | None, Query(max_length=255)]
