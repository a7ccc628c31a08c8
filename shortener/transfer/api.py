"""Bulk creation, CSV import and CSV export. Registered before the links router, so that
/api/links/export is not taken for a link key."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import StreamingResponse

from shortener.auth.deps import LinksReader, LinksWriter
from shortener.db import SessionDep, after_commit
from shortener.errors import Invalid
from shortener.links.deps import LinkContextDep
from shortener.openapi import errors
from shortener.ratelimit import limit_link_creation
from shortener.transfer import export, service
from shortener.transfer.formats import UnreadableFile, decode, read_csv
from shortener.transfer.schemas import (
    BulkCreate,
    BulkResponse,
    BulkResult,
    ImportErrorOut,
    ImportResponse,
)

router = APIRouter(prefix="/api/links", tags=["links"], responses=errors(401, 403, 404, 409, 429))


# One bulk call counts as one creation request for the rate limits (it is one request).
@router.post("/bulk", response_model=BulkResponse, dependencies=[Depends(limit_link_creation)])
async def bulk_create(
    body: BulkCreate, user: LinksWriter, session: SessionDep, ctx: LinkContextDep
) -> BulkResponse:
    """Create up to 1000 links; each item succeeds or fails on its own."""
    items = await service.bulk_create(session, owner=user, items=body.links, ctx=ctx)
    links = [item.link for item in items if item.link is not None]
    public = await service.public_links(session, links, ctx.base_url)
    return BulkResponse(
        results=[
            BulkResult(
                index=item.index,
                status=item.status,  # type: ignore[arg-type]
                link=public[item.link.id or 0] if item.link is not None else None,
                detail=item.detail,
            )
            for item in items
        ]
    )


@router.post("/import", response_model=ImportResponse)
async def import_csv(
    file: Annotated[UploadFile, File(description="CSV: ours, or YOURLS/Shlink/Kutt/Bitly")],
    user: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
) -> ImportResponse:
    try:
        parsed = read_csv(decode(await file.read()))
    except UnreadableFile as exc:
        raise Invalid(str(exc), field="file") from None
    result = await service.import_links(
        session, owner=user, rows=parsed.rows, own_host=ctx.own_host, format_name=parsed.format
    )
    after_commit(session, partial(ctx.cache.invalidate_many, result.created_keys))
    return ImportResponse(
        format=result.format,
        created=result.created,
        skipped=result.skipped,
        errors=[ImportErrorOut(line=e.line, detail=e.detail) for e in result.errors],
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one row a link"}},
)
async def export_csv(user: LinksReader, request: Request) -> StreamingResponse:
    rows = export.export_csv(request.app.state.sessionmaker, owner_id=user.id or 0)
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="links.csv"'},
    )
