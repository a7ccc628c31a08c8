"""Bulk creation, CSV import and CSV export. Registered before the links router, so that
/api/links/export is not taken for a link key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from shortener.db import SessionDep
from shortener.errors import Invalid
from shortener.links.deps import LinkContextDep, LinkQuotaDep
from shortener.openapi import errors
from shortener.runtime import runtime_of
from shortener.transfer import export, service
from shortener.transfer.formats import UnreadableFile, open_text, read_csv
from shortener.transfer.schemas import (
    BulkCreate,
    BulkResponse,
    BulkResult,
    ImportErrorOut,
    ImportResponse,
)
from shortener.workspaces.deps import LinksReader, LinksWriter

router = APIRouter(prefix="/api/links", tags=["links"], responses=errors(401, 403, 404, 409, 429))


@router.post("/bulk", response_model=BulkResponse)
async def bulk_create(
    body: BulkCreate,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    quota: LinkQuotaDep,
) -> BulkResponse:
    """Create up to 1000 links; each item succeeds or fails on its own.

    Each link created counts against RATE_LIMIT_LINKS_USER: items past what is left of it are
    errors, and a call when nothing is left answers 429."""
    items = await service.bulk_create(
        session, acting=acting, items=body.links, ctx=ctx, quota=quota
    )
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


@router.post(
    "/import",
    response_model=ImportResponse,
    responses={429: {"description": "the import budget ran out: `created` were made, no more"}},
)
async def import_csv(
    file: Annotated[
        UploadFile,
        File(description="CSV with a URL column: ours, YOURLS/Shlink/Kutt/Bitly, or any other"),
    ],
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    quota: LinkQuotaDep,
) -> ImportResponse | JSONResponse:
    """Up to IMPORT_MAX_BYTES, spooled to disk as it arrives (not MAX_BODY_BYTES)."""
    try:
        parsed = read_csv(open_text(file.file))
    except UnreadableFile as exc:
        raise Invalid(str(exc), field="file") from None
    result = await service.import_links(
        session, acting=acting, rows=parsed.rows, ctx=ctx, quota=quota, format_name=parsed.format
    )
    answer = ImportResponse(
        format=result.format,
        created=result.created,
        skipped=result.skipped,
        errors=[ImportErrorOut(line=e.line, detail=e.detail) for e in result.errors],
    )
    if result.refused is not None:
        # Returned, not raised: what was imported before the budget ran out is kept
        # (committed), and the answer says how far it got.
        body = {"detail": result.refused.detail} | answer.model_dump()
        return JSONResponse(body, status_code=429, headers=result.refused.headers)
    return answer


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one row a link"}},
)
async def export_csv(
    acting: LinksReader, request: Request, session: SessionDep
) -> StreamingResponse:
    runtime = runtime_of(request)
    rows = await export.export_started(
        runtime.read_sessionmaker, acting=acting, separate=runtime.separate_reads, session=session
    )
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="links.csv"'},
    )
