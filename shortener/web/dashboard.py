"""The dashboard's link pages: create a link, and one link's page (edit, QR, stats, delete).

Thin routes over links.service, the same service the API uses; no HTTP calls to ourselves.
A link is named as in the API: by its key (which may have `/` in it) and `?domain=` off the
default domain, so /dashboard/links/{key} of a default-domain link is what it always was.
The list itself (filters, pages, bulk actions) is in links_list.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from shortener.db import SessionDep
from shortener.domains import service as domains
from shortener.errors import Conflict, Invalid, NotFound
from shortener.links import service
from shortener.links.context import LinkContext
from shortener.links.deps import LinkContextDep, quota_for
from shortener.links.keypath import KEY
from shortener.live.feed import LATEST, latest_visits
from shortener.models import Link
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
from shortener.web.links_list import ListQuery, link_page, list_context
from shortener.web.pages import redirect, render
from shortener.web.session import PageActing, PageStats, PageWriter
from shortener.web.stats_view import load_link_stats
from shortener.web.windows import parse_window
from shortener.workspaces.acting import Acting

router = APIRouter(prefix="/dashboard", include_in_schema=False)
Csrf = Depends(check_csrf)
# The link's domain (hostname); omitted: the default domain, as in the API.
DomainParam = Annotated[str | None, Query(max_length=300)]


async def _named_link(
    key: str,
    acting: PageActing,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: DomainParam = None,
) -> Link:
    """The link the path's key and ?domain= name; 404 for others' links (as in the API)."""
    domain_id = await domains.domain_id_of(session, acting=acting, hostname=domain, ctx=ctx)
    return await service.get_link(session, acting=acting, key=ctx.key(key), domain_id=domain_id)


NamedLink = Annotated[Link, Depends(_named_link)]


@router.post("/links", dependencies=[Csrf])
async def create_link(
    request: Request, acting: PageWriter, session: SessionDep, ctx: LinkContextDep
) -> Response:
    user = acting.user
    values = form_values(await request.form(), LINK_FIELDS)
    try:
        data = parse_create(values)
        link, _ = await service.create_link(
            session, acting=acting, data=data, ctx=ctx, quota=quota_for(request, user)
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
    context = await list_context(request, session, ctx, acting, ListQuery())
    values.pop("password", None)
    context |= {"errors": errors, "values": values, "open_create": True}
    return render(request, "dashboard.html", context, user=user, status=422)


async def _link_context(
    request: Request, session: SessionDep, ctx: LinkContext, acting: Acting, link: Link
) -> dict[str, Any]:
    public = (await service.to_public(session, [link], ctx.base_url))[0]
    window = parse_window(
        request.query_params.get("window"),
        request.query_params.get("from"),
        request.query_params.get("to"),
        request.query_params.get("interval"),
    )
    stats = await load_link_stats(
        request, session, acting, link.key, window, domain_id=link.domain_id
    )
    return {
        "link": public,
        "window": window,
        "stats": stats,
        "values": edit_values(public) | option_values(public),
        "visits": await latest_visits(session, link.id or 0),
        "visit_limit": LATEST,
        # This link's pages: /dashboard/links/{key}[/suffix], with ?domain= where needed.
        "page_of": lambda suffix="", **params: link_page(public, ctx.own_host, suffix, **params),
        "domain_query": {} if public.domain == ctx.own_host else {"domain": public.domain},
    }


# The routes with a suffix come first: {key} (KEY: keys may hold '/') would otherwise take
# "abc/delete" as a key; no multi-segment key ends in one (keys.SUB_RESOURCES).
@router.get(f"/links/{KEY}/delete")
async def confirm_delete(
    request: Request, link: NamedLink, acting: PageWriter, session: SessionDep, ctx: LinkContextDep
) -> Response:
    """Deleting asks first, also without JavaScript: this page holds the form that deletes."""
    public = (await service.to_public(session, [link], ctx.base_url))[0]
    context = {
        "link": public,
        "action": link_page(public, ctx.own_host, "/delete"),
        "back": link_page(public, ctx.own_host),
    }
    return render(request, "link_delete.html", context, user=acting.user)


@router.post(f"/links/{KEY}/delete", dependencies=[Csrf])
async def delete_link(
    request: Request, link: NamedLink, acting: PageWriter, session: SessionDep, ctx: LinkContextDep
) -> Response:
    public = (await service.to_public(session, [link], ctx.base_url))[0]
    await service.delete_link(
        session, acting=acting, key=link.key, ctx=ctx, domain_id=link.domain_id
    )
    return redirect(request, "/dashboard", f"Deleted {public.short_url}.")


@router.get(f"/links/{KEY}/qr.{{fmt}}")
async def link_qr(
    fmt: str, link: NamedLink, session: SessionDep, ctx: LinkContextDep, download: bool = False
) -> Response:
    if fmt not in ("svg", "png"):
        raise Invalid("the QR code comes as svg or png", field="format")
    # The short URL as the link's domain answers it, as the API's QR code does.
    target = (await service.to_public(session, [link], ctx.base_url))[0].short_url
    image = qr.render(target, "svg" if fmt == "svg" else "png")
    headers = {"cache-control": "private, max-age=300", "etag": image.etag}
    if download:
        name = link.key.replace("/", "-")
        headers["content-disposition"] = f'attachment; filename="{name}-qr.{fmt}"'
    return Response(image.body, media_type=image.media_type, headers=headers)


@router.get(f"/links/{KEY}")
async def link_page_view(
    request: Request, link: NamedLink, acting: PageStats, session: SessionDep, ctx: LinkContextDep
) -> Response:
    context = await _link_context(request, session, ctx, acting, link)
    return render(request, "link.html", context, user=acting.user)


@router.post(f"/links/{KEY}", dependencies=[Csrf])
async def edit_link(
    request: Request, link: NamedLink, acting: PageWriter, session: SessionDep, ctx: LinkContextDep
) -> Response:
    user = acting.user
    form = await request.form()
    values = form_values(form, LINK_FIELDS)
    options = read_options(form)
    try:
        data = parse_update(
            values,
            remove_password=form.get("remove_password") == "on",
            is_active=form.get("is_active") == "on",
            options=options.data,
        )
        # A savepoint: a field refused halfway must not leave the fields before it changed.
        async with session.begin_nested():
            link = await service.update_link(
                session, acting=acting, key=link.key, data=data, ctx=ctx, domain_id=link.domain_id
            )
    except (ValidationError, Invalid) as exc:
        errors = option_errors(exc, options)
    except Conflict as exc:  # the new key is another link's
        errors = {"key": str(exc.detail)}
    else:
        public = (await service.to_public(session, [link], ctx.base_url))[0]
        return redirect(request, link_page(public, ctx.own_host), "Changes saved.")
    await session.refresh(link)
    context = await _link_context(request, session, ctx, acting, link)
    values.pop("password", None)
    context |= {"errors": errors, "values": values | options.values}
    return render(request, "link.html", context, user=user, status=422)
