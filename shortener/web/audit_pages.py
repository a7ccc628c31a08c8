"""/dashboard/audit: the audit log, over the service GET /api/audit uses and with its rule of
who reads what (audit.service.public_filter): a site administrator every event, or under
/w/{slug}/ that workspace's; a shared workspace's owners and admins its own, under its prefix.

Filters are a GET form (nothing changes, so no CSRF token); dates are whole UTC days, `to`
included.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from shortener.audit.service import ACTIONS, list_events, public_filter
from shortener.db import SessionDep
from shortener.errors import Invalid
from shortener.fields import OneLine
from shortener.web.links_list import page_numbers
from shortener.web.pages import render
from shortener.web.session import PageAuditReader
from shortener.workspaces.paths import workspace_slug

router = APIRouter(prefix="/dashboard/audit", include_in_schema=False)
PAGE_SIZE = 50


def _date(text: str | None, name: str) -> date | None:
    """A date field of the form: empty is no filter (a browser sends `from=` for a blank one)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"`{name}` must be a date (YYYY-MM-DD)") from None


def _day(day: date | None, *, after: bool = False) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1 if after else 0), time(), tzinfo=UTC)


@router.get("")
async def audit_page(
    request: Request,
    reader: PageAuditReader,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=40), OneLine] = None,
    actor: Annotated[str | None, Query(max_length=320), OneLine] = None,
    from_text: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to_text: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=2**31 // PAGE_SIZE)] = 1,
) -> Response:
    since, until = _date(from_text, "from"), _date(to_text, "to")
    where = public_filter(
        reader,
        workspace_named=workspace_slug(request) is not None,
        action=action,
        actor=actor,
        since=_day(since),
        until=_day(until, after=True),
    )
    rows, total = await list_events(
        session, where=where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    filters = {
        "action": where.action or "",
        "actor": where.actor or "",
        "from": since.isoformat() if since else "",
        "to": until.isoformat() if until else "",
    }
    kept = {name: value for name, value in filters.items() if value}
    context = {
        "events": rows,  # (event, its workspace's slug)
        # Every workspace's events: each says whose it is.
        "site_wide": where.workspace_id is None,
        "total": total,
        "page": page,
        "pages": pages,
        "page_numbers": page_numbers(page, pages),
        "filters": filters,
        "actions": ACTIONS,
        "page_url": lambda number: "/dashboard/audit?" + urlencode({**kept, "page": number}),
    }
    return render(request, "audit.html", context, user=reader.user)
