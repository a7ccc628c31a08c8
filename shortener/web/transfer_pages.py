"""/dashboard/transfer: CSV import (an upload form) and export (a download). Thin routes over
transfer.service and transfer.export, the same code as /api/links/import and /export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse

from shortener.db import SessionDep
from shortener.links.deps import LinkContextDep
from shortener.transfer import export, service
from shortener.transfer.formats import UnreadableFile, decode, read_csv
from shortener.web.csrf import check_csrf
from shortener.web.pages import render
from shortener.web.session import PageUser

router = APIRouter(prefix="/dashboard/transfer", include_in_schema=False)
Csrf = Depends(check_csrf)
# The first errors are listed; a file with thousands of bad rows gets a count, not a wall.
SHOWN_ERRORS = 200


def _context(request: Request) -> dict[str, Any]:
    return {"max_bytes": request.app.state.settings.max_body_bytes}


@router.get("")
async def transfer_page(request: Request, user: PageUser) -> Response:
    return render(request, "transfer.html", _context(request), user=user)


@router.post("/import", dependencies=[Csrf])
async def import_csv(
    request: Request, user: PageUser, session: SessionDep, ctx: LinkContextDep
) -> Response:
    upload = (await request.form()).get("file")
    context = _context(request)
    if not isinstance(upload, UploadFile) or not upload.filename:
        context["errors"] = {"file": "choose a CSV file to import"}
        return render(request, "transfer.html", context, user=user, status=422)
    try:
        parsed = read_csv(decode(await upload.read()))
    except UnreadableFile as exc:
        context["errors"] = {"file": str(exc)}
        return render(request, "transfer.html", context, user=user, status=422)
    result = await service.import_links(
        session, owner=user, rows=parsed.rows, own_host=ctx.own_host, format_name=parsed.format
    )
    context["result"] = {
        "filename": upload.filename,
        "format": result.format,
        "created": result.created,
        "skipped": result.skipped,
        "error_count": len(result.errors),
        "errors": result.errors[:SHOWN_ERRORS],
    }
    return render(request, "transfer.html", context, user=user)


@router.get("/export.csv")
async def export_csv(request: Request, user: PageUser) -> Response:
    rows = export.export_csv(request.app.state.sessionmaker, owner_id=user.id or 0)
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="links.csv"',
            "cache-control": "no-store",
        },
    )
