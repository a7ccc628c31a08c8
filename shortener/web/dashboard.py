"""The dashboard: the user's links (list, search, create) and one link's page (edit, QR, stats).

Thin routes over links.service, the same service the API uses; no HTTP calls to ourselves.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from shortener.db import SessionDep
from shortener.domains import service as domains
from shortener.errors import Conflict, Invalid, NotFound
from shortener.fields import OneLine
from shortener.links import service
from shortener.links.deps import LinkContextDep, quota_for
from shortener.live.feed import LATEST, latest_visits
from shortener.models import User
from shortener.qr import service as qr
from shortener.web.csrf import check_csrf
from shortener.web.forms import (
    LINK_FIELDS,
    domain_errors,
    edit_values,
    form_values,
    parse_create,
    parse_update,
    validation_errors,
)
from shortener.web.link_options import option_errors, option_values, read_options
from shortener.web.pages import redirect, render
from shortener.web.session import PageUser
from shortener.web.stats_view import load_link_stats, load_overview
from shortener.web.windows import parse_window

router = APIRouter(prefix="/dashboard", include_in_schema=False)
Csrf = Depends(check_csrf)
PER_PAGE = 20
Text = Annotated[str | None, Query(max_length=200), OneLine]


def _page_number(raw: str | None) -> int:
    # Lenient on purpose: a hand-edited ?page=x shows page 1 rather than a JSON error.
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


async def _list_context(
    request: Request,
    session: SessionDep,
    ctx: LinkContextDep,
    user: User,
    *,
    q: str | None,
    tag: str | None,
    page: int,
) -> dict[str, Any]:
    q = (q or "").strip() or None
    tag = (tag or "").strip() or None
    links, total = await service.list_links(
        session, user=user, limit=PER_PAGE, offset=(page - 1) * PER_PAGE, q=q, tag=tag
    )
    window = parse_window(
        request.query_params.get("window"),
        request.query_params.get("from"),
        request.query_params.get("to"),
        request.query_params.get("interval"),
    )
    return {
        "links": await service.to_public(session, links, ctx.base_url),
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PER_PAGE)),
        "q": q or "",
        "tag": tag or "",
        "window": window,
        "overview": await load_overview(request, session, user, window),
        "base_url": ctx.base_url,
        "default_host": ctx.own_host,
        # The domain picker: verified domains this user may put links on.
        "link_domains": [
            d.hostname for d in await domains.list_domains(session, user=user) if d.verified
        ],
    }


@router.get("")
async def dashboard(
    request: Request,
    user: PageUser,
    session: SessionDep,
    ctx: LinkContextDep,
    q: Text = None,
    tag: Text = None,
    page: Text = None,
) -> Response:
    context = await _list_context(
        request, session, ctx, user, q=q, tag=tag, page=_page_number(page)
    )
    return render(request, "dashboard.html", context, user=user)


@router.post("/links", dependencies=[Csrf])
async def create_link(
    request: Request, user: PageUser, session: SessionDep, ctx: LinkContextDep
) -> Response:
    values = form_values(await request.form(), LINK_FIELDS)
    try:
        data = parse_create(values)
        link, _ = await service.create_link(
            session, owner=user, data=data, ctx=ctx, quota=quota_for(request, user)
        )
    except ValidationError as exc:
        errors = validation_errors(exc)
    except (Invalid, Conflict) as exc:
        errors = domain_errors(exc, fallback="alias" if values["alias"].strip() else "form")
    except NotFound as exc:  # a domain that is not theirs
        errors = {"domain": str(exc.detail)}
    else:
        short_url = (await service.to_public(session, [link], ctx.base_url))[0].short_url
        return redirect(request, "/dashboard", f"Created {short_url}")
    context = await _list_context(request, session, ctx, user, q=None, tag=None, page=1)
    values.pop("password", None)
    context |= {"errors": errors, "values": values, "open_create": True}
    return render(request, "dashboard.html", context, user=user, status=422)


async def _link_context(
    request: Request, session: SessionDep, ctx: LinkContextDep, user: User, key: str
) -> dict[str, Any]:
    link = await service.get_link(session, user=user, key=key)
    public = (await service.to_public(session, [link], ctx.base_url))[0]
    window = parse_window(
        request.query_params.get("window"),
        request.query_params.get("from"),
        request.query_params.get("to"),
        request.query_params.get("interval"),
    )
    return {
        "link": public,
        "window": window,
        "stats": await load_link_stats(request, session, user, key, window),
        "values": edit_values(public) | option_values(public),
        "visits": await latest_visits(session, link.id or 0),
        "visit_limit": LATEST,
    }


@router.get("/links/{key}")
async def link_page(
    request: Request, key: str, user: PageUser, session: SessionDep, ctx: LinkContextDep
) -> Response:
    context = await _link_context(request, session, ctx, user, key)
    return render(request, "link.html", context, user=user)


@router.post("/links/{key}", dependencies=[Csrf])
async def edit_link(
    request: Request, key: str, user: PageUser, session: SessionDep, ctx: LinkContextDep
) -> Response:
    form = await request.form()
    values = form_values(form, LINK_FIELDS)
    options = read_options(form)
    await service.get_link(session, user=user, key=key)  # 404 before anything else
    try:
        data = parse_update(
            values,
            remove_password=form.get("remove_password") == "on",
            is_active=form.get("is_active") == "on",
            options=options.data,
        )
        # A savepoint: a field refused halfway must not leave the fields before it changed.
        async with session.begin_nested():
            link = await service.update_link(session, user=user, key=key, data=data, ctx=ctx)
    except (ValidationError, Invalid) as exc:
        errors = option_errors(exc, options)
    except Conflict as exc:  # the new key is another link's
        errors = {"key": str(exc.detail)}
    else:
        return redirect(request, f"/dashboard/links/{link.key}", "Changes saved.")
    context = await _link_context(request, session, ctx, user, key)
    values.pop("password", None)
    context |= {"errors": errors, "values": values | options.values}
    return render(request, "link.html", context, user=user, status=422)


@router.post("/links/{key}/delete", dependencies=[Csrf])
async def delete_link(
    request: Request, key: str, user: PageUser, session: SessionDep, ctx: LinkContextDep
) -> Response:
    await service.delete_link(session, user=user, key=key, ctx=ctx)
    return redirect(request, "/dashboard", f"Deleted {ctx.base_url}/{key}.")


@router.get("/links/{key}/qr.{fmt}")
async def link_qr(
    key: str,
    fmt: str,
    user: PageUser,
    session: SessionDep,
    ctx: LinkContextDep,
    download: bool = False,
) -> Response:
    link = await service.get_link(session, user=user, key=key)
    if fmt not in ("svg", "png"):
        raise Invalid("the QR code comes as svg or png", field="format")
    image = qr.render(f"{ctx.base_url}/{link.key}", "svg" if fmt == "svg" else "png")
    headers = {"cache-control": "private, max-age=300", "etag": image.etag}
    if download:
        headers["content-disposition"] = f'attachment; filename="{link.key}-qr.{fmt}"'
    return Response(image.body, media_type=image.media_type, headers=headers)
