"""/dashboard's list of links: filters, numbered pages, selection and bulk actions.

The filters and the page live in the URL (a GET form), so a filtered page can be bookmarked,
reloaded and come back to after a bulk action. Pages are offset-based with a count: on
SQLite with 75,000 links a page costs tens of milliseconds (README, "Dashboard"), and unlike
keyset pages they can be jumped to by number.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from shortener.db import SessionDep
from shortener.domains import service as domains
from shortener.errors import Invalid
from shortener.fields import MAX_ROW_ID, OneLine
from shortener.links import bulk, service
from shortener.links.deps import LinkContextDep
from shortener.links.schemas import LinkPublic
from shortener.models import Link, utcnow
from shortener.web.csrf import check_csrf
from shortener.web.pages import redirect, render
from shortener.web.session import PageReader, PageWriter
from shortener.web.stats_view import load_overview
from shortener.web.windows import parse_window
from shortener.workspaces.acting import Acting

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PER_PAGE = 20
MAX_PAGE = 1_000_000
SOON = timedelta(days=7)  # "expires soon" in the list
STATUSES = ("active", "inactive", "expired")
ACTION_NAMES = {
    "delete": "Deleted",
    "add_tag": "Tagged",
    "remove_tag": "Untagged",
    "activate": "Activated",
    "deactivate": "Deactivated",
}


# Text a person types: control characters are refused (422) as in the API; the choices
# (status, page) are lenient instead: a hand-edited one shows the list as best it can.
Text = Annotated[str | None, Query(max_length=200), OneLine]


@dataclass(frozen=True)
class ListQuery:
    """The list's filters and page, as read from (and written back into) the URL."""

    q: str = ""
    tag: str = ""
    domain: str = ""
    status: str = ""
    page: int = 1

    @classmethod
    def parse(
        cls, q: str | None, tag: str | None, domain: str | None, status: str, page: str
    ) -> ListQuery:
        return cls(
            q=(q or "").strip(),
            tag=(tag or "").strip(),
            domain=(domain or "").strip(),
            status=status if status in STATUSES else "",
            page=int(page) if page.isdigit() and 0 < int(page) < MAX_PAGE else 1,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.tag or self.domain or self.status)

    def url(self, **changes: Any) -> str:
        """/dashboard with these filters (and page), empty ones left out."""
        extra = {k: changes.pop(k) for k in ("select",) if k in changes}
        shown = replace(self, **changes)
        pairs = {k: v for k, v in vars(shown).items() if v and not (k == "page" and v == 1)}
        pairs |= extra
        return "/dashboard" + (f"?{urlencode(pairs)}" if pairs else "")

    def filters(self) -> dict[str, str]:
        """The filters alone, as hidden inputs of the forms that keep them (jump to page)."""
        return {k: v for k, v in vars(self).items() if v and k != "page"}


def page_numbers(page: int, pages: int) -> list[int | None]:
    """1 … 4 5 [6] 7 8 … 40: the first, the last and two either side (None: a gap)."""
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


@dataclass(frozen=True)
class Row:
    """A link as the list shows it: the API's answer, its id (to select it), and its badges."""

    id: int
    link: LinkPublic
    uses: int
    expiry: Literal["expired", "soon", ""]
    page: str  # its page in the dashboard, with ?domain= off the default domain
    qr: str
    delete: str  # the page that asks before deleting


def link_page(link: LinkPublic, default_host: str, suffix: str = "", **params: Any) -> str:
    """The dashboard page of a link: by key, and by domain when not the default one."""
    if link.domain != default_host:
        params = {"domain": link.domain, **params}
    path = f"/dashboard/links/{link.key}{suffix}"
    return f"{path}?{urlencode(params)}" if params else path


async def _rows(
    session: SessionDep, links: list[Link], base_url: str, default_host: str
) -> list[Row]:
    now = utcnow()
    rows = []
    for link, public in zip(links, await service.to_public(session, links, base_url), strict=True):
        expires = public.expires_at
        expiry: Literal["expired", "soon", ""] = ""
        if expires is not None:
            expiry = "expired" if expires <= now else "soon" if expires - now <= SOON else ""
        pages = [link_page(public, default_host, s) for s in ("", "/qr.svg", "/delete")]
        rows.append(Row(link.id or 0, public, link.uses, expiry, *pages))
    return rows


async def list_context(
    request: Request, session: SessionDep, ctx: LinkContextDep, acting: Acting, query: ListQuery
) -> dict[str, Any]:
    domain_id = (
        "any"
        if not query.domain
        else await domains.domain_id_of(session, acting=acting, hostname=query.domain, ctx=ctx)
    )
    status: Any = query.status or None
    filters: dict[str, Any] = {"q": query.q or None, "tag": query.tag or None}
    filters |= {"domain_id": domain_id, "status": status}
    links, total = await service.list_links(
        session, acting=acting, limit=PER_PAGE, offset=(query.page - 1) * PER_PAGE, **filters
    )
    pages = max(1, -(-total // PER_PAGE))
    if query.page > pages:  # past the end (links were deleted): the last page instead
        query = replace(query, page=pages)
        links, _ = await service.list_links(
            session, acting=acting, limit=PER_PAGE, offset=(pages - 1) * PER_PAGE, **filters
        )
    window = parse_window(
        request.query_params.get("window"),
        request.query_params.get("from"),
        request.query_params.get("to"),
        request.query_params.get("interval"),
    )
    usable = await domains.list_domains(session, acting=acting)
    return {
        "rows": await _rows(session, links, ctx.base_url, ctx.own_host),
        "total": total,
        "query": query,
        "pages": pages,
        "page_numbers": page_numbers(query.page, pages),
        "select_all": request.query_params.get("select") == "all",
        "select_all_url": query.url(select="all"),
        "statuses": STATUSES,
        "actions": ACTION_NAMES,
        "window": window,
        "overview": await load_overview(request, session, acting, window),
        "base_url": ctx.base_url,
        "default_host": ctx.own_host,
        # The domain picker: verified domains this user may put links on; the filter: all.
        "link_domains": [d.hostname for d in usable if d.verified],
        "filter_domains": [ctx.own_host, *(d.hostname for d in usable)],
    }


@router.get("")
async def dashboard(
    request: Request,
    acting: PageReader,
    session: SessionDep,
    ctx: LinkContextDep,
    q: Text = None,
    tag: Text = None,
    domain: Text = None,
    status: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    query = ListQuery.parse(q, tag, domain, status, page)
    context = await list_context(request, session, ctx, acting, query)
    return render(request, "dashboard.html", context, user=acting.user)


def _back(value: Any) -> str:
    """Where a bulk action returns: the list as it was (only ever a /dashboard URL)."""
    if isinstance(value, str) and (value == "/dashboard" or value.startswith("/dashboard?")):
        return value
    return "/dashboard"


@router.post("/bulk", dependencies=[Depends(check_csrf)])
async def bulk_action(
    request: Request, acting: PageWriter, session: SessionDep, ctx: LinkContextDep
) -> Response:
    user = acting.user
    form = await request.form()
    back = _back(form.get("back"))
    # Ids no link can have (the column is a 32-bit integer) are ignored like others' links.
    ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
    ids = [i for i in ids if 0 < i <= MAX_ROW_ID]
    action, tag = form.get("action"), form.get("tag")
    if not isinstance(action, str) or action not in ACTION_NAMES:
        raise Invalid(f"the action is one of {', '.join(ACTION_NAMES)}", field="action")
    tag = tag.strip() if isinstance(tag, str) else None
    if not ids:
        return redirect(request, back, "Select the links first.", kind="error")
    if action == "delete" and form.get("confirmed") != "yes":
        # Asked before anything is deleted; the script's confirm() sends confirmed=yes itself.
        rows, _ = await service.list_links(
            session, acting=acting, limit=len(ids), offset=0, ids=ids
        )
        publics = await service.to_public(session, rows, ctx.base_url)
        context = {"ids": [r.id for r in rows], "links": publics, "back": back}
        return render(request, "bulk_delete.html", context, user=user)
    try:
        changed = await bulk.bulk_action(
            session, acting=acting, ids=ids, action=bulk.check_action(action), tag=tag, ctx=ctx
        )
    except Invalid as exc:
        detail = exc.detail[0]["msg"] if isinstance(exc.detail, list) else str(exc.detail)
        return redirect(request, back, detail, kind="error")
    noun = "link" if changed == 1 else "links"
    return redirect(request, back, f"{ACTION_NAMES[action]} {changed:,} {noun}.", kind="success")
