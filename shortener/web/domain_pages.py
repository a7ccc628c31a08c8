"""The dashboard's domains page: add a domain, follow the proof steps, verify, delete.

Thin routes over domains.service, the same service the API uses.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from shortener.db import SessionDep
from shortener.domains import service
from shortener.domains.schemas import DomainCreate
from shortener.errors import Conflict, Invalid
from shortener.fields import RowId
from shortener.links.deps import LinkContextDep
from shortener.runtime import runtime_of
from shortener.web.csrf import check_csrf
from shortener.web.forms import form_errors, form_values
from shortener.web.pages import redirect, render
from shortener.web.session import PageDomains, PageReader
from shortener.workspaces.acting import Acting

router = APIRouter(prefix="/dashboard/domains", include_in_schema=False)
Csrf = Depends(check_csrf)
FIELDS = ("hostname",)


async def _context(session: SessionDep, acting: Acting, ctx: LinkContextDep) -> dict[str, Any]:
    domains = await service.list_domains(session, acting=acting)
    return {
        "default": service.default_public(ctx),
        "domains": [service.public(d) for d in domains],
        "values": {"hostname": ""},
        "errors": {},
    }


@router.get("")
async def domains_page(
    request: Request, acting: PageReader, session: SessionDep, ctx: LinkContextDep
) -> Response:
    context = await _context(session, acting, ctx)
    return render(request, "domains.html", context, user=acting.user)


@router.post("", dependencies=[Csrf])
async def add_domain(
    request: Request, acting: PageDomains, session: SessionDep, ctx: LinkContextDep
) -> Response:
    user = acting.user
    values = form_values(await request.form(), FIELDS)
    try:
        data = DomainCreate.model_validate(values)
        domain = await service.create_domain(session, acting=acting, data=data, ctx=ctx)
    except (ValidationError, Invalid, Conflict) as exc:
        context = await _context(session, acting, ctx)
        context |= {"errors": form_errors(exc, FIELDS), "values": values}
        if isinstance(exc, Conflict):
            context["errors"] = {"hostname": str(exc.detail)}
        return render(request, "domains.html", context, user=user, status=422)
    return redirect(
        request, "/dashboard/domains", f"Added {domain.hostname}: now prove it is yours."
    )


@router.post("/{domain_id}/verify", dependencies=[Csrf])
async def verify_domain(
    request: Request,
    domain_id: RowId,
    acting: PageDomains,
    session: SessionDep,
    ctx: LinkContextDep,
) -> Response:
    runtime = runtime_of(request)
    try:
        domain = await service.verify_domain(
            session,
            acting=acting,
            domain_id=domain_id,
            proofs=runtime.domain_proofs,
            ctx=ctx,
            engine=runtime.engine,
        )
    except Conflict as exc:
        return redirect(request, "/dashboard/domains", str(exc.detail), kind="error")
    return redirect(request, "/dashboard/domains", f"{domain.hostname} is verified.")


@router.post("/{domain_id}/delete", dependencies=[Csrf])
async def delete_domain(
    request: Request,
    domain_id: RowId,
    acting: PageDomains,
    session: SessionDep,
    ctx: LinkContextDep,
) -> Response:
    try:
        await service.delete_domain(
            session, acting=acting, domain_id=domain_id, force=False, ctx=ctx
        )
    except Conflict as exc:
        return redirect(request, "/dashboard/domains", str(exc.detail), kind="error")
    return redirect(request, "/dashboard/domains", "The domain is deleted.")
