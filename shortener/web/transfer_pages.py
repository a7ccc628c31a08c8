"""/dashboard/transfer: CSV import (an upload form) and export (a download). Thin routes over
transfer.service and transfer.export, the same code as /api/links/import and /export.

The page's script posts the file itself and asks for NDJSON (`Accept: application/x-ndjson`):
the answer then streams a line per thousand rows read and a last line with the summary, which
drive a progress bar. It all happens inside that one request, so any worker can take it and
there is no job to look up later. Without the script the form posts as usual and the answer is
the page with the summary.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse

from shortener.db import SessionDep, commit
from shortener.errors import Invalid
from shortener.links.context import LinkContext
from shortener.links.deps import LinkContextDep, quota_for
from shortener.links.quota import LinkQuota
from shortener.middleware import size_text
from shortener.runtime import runtime_of
from shortener.transfer import export, service
from shortener.transfer.formats import ParsedFile, UnreadableFile, count_rows, open_text, read_csv
from shortener.transfer.service import ImportResult
from shortener.web.csrf import check_csrf
from shortener.web.forms import domain_errors
from shortener.web.pages import render
from shortener.web.session import PageReader, PageUser, PageWriter
from shortener.workspaces.acting import Acting

router = APIRouter(prefix="/dashboard/transfer", include_in_schema=False)
Csrf = Depends(check_csrf)
NDJSON = "application/x-ndjson"
# The first errors are listed; a file with thousands of bad rows gets a count, not a wall.
SHOWN_ERRORS = 200


@dataclass
class Upload:
    filename: str
    parsed: ParsedFile
    total: int  # rows, for the progress bar


def _context(request: Request) -> dict[str, Any]:
    max_bytes = runtime_of(request).settings.import_max_bytes
    return {"max_bytes": max_bytes, "max_size": size_text(max_bytes)}


def _summary(filename: str, result: ImportResult) -> dict[str, Any]:
    return {
        "filename": filename,
        "format": result.format,
        "created": result.created,
        "skipped": result.skipped,
        "error_count": len(result.errors),
        "errors": result.errors[:SHOWN_ERRORS],
        "refused": str(result.refused.detail) if result.refused is not None else None,
    }


async def _read_upload(request: Request) -> Upload:
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Invalid("choose a CSV file to import", field="file")
    try:
        text = open_text(upload.file)  # spooled to disk by the form parser
        total = count_rows(text)
        return Upload(upload.filename, read_csv(text), total)
    except UnreadableFile as exc:
        raise Invalid(str(exc), field="file") from None


@router.get("")
async def transfer_page(request: Request, user: PageUser) -> Response:
    return render(request, "transfer.html", _context(request), user=user)


@router.post("/import", dependencies=[Csrf])
async def import_csv(
    request: Request, acting: PageWriter, session: SessionDep, ctx: LinkContextDep
) -> Response:
    user = acting.user
    streamed = NDJSON in request.headers.get("accept", "")
    try:
        upload = await _read_upload(request)
    except Invalid as exc:
        if streamed:
            raise  # the JSON 422 the script shows beside the field
        context = _context(request) | {"errors": domain_errors(exc, ("file",))}
        return render(request, "transfer.html", context, user=user, status=422)
    if streamed:
        lines = _progress_lines(request, acting, upload, ctx, quota_for(request, user))
        # no-store and no proxy buffering (nginx): each line is for now, not for later.
        headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
        return StreamingResponse(lines, media_type=NDJSON, headers=headers)
    result = await service.import_links(
        session,
        acting=acting,
        rows=upload.parsed.rows,
        ctx=ctx,
        quota=quota_for(request, user),
        format_name=upload.parsed.format,
    )
    context = _context(request) | {"result": _summary(upload.filename, result)}
    return render(request, "transfer.html", context, user=user)


def _line(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event) + b"\n"


async def _progress_lines(
    request: Request, acting: Acting, upload: Upload, ctx: LinkContext, quota: LinkQuota
) -> AsyncIterator[bytes]:
    """`start`, then `progress` lines ({rows, total}), then `done` with the summary as HTML
    (the page's own partial, so the script draws nothing itself). A stream that ends without
    `done` is an import that failed, and was rolled back."""
    sessionmaker = runtime_of(request).sessionmaker
    templates = runtime_of(request).templates
    counts: asyncio.Queue[int | None] = asyncio.Queue()

    async def run() -> ImportResult:
        try:
            # A session of its own: the response outlives the request's.
            async with sessionmaker() as session:
                result = await service.import_links(
                    session,
                    acting=acting,
                    rows=upload.parsed.rows,
                    ctx=ctx,
                    quota=quota,
                    format_name=upload.parsed.format,
                    progress=counts.put_nowait,
                )
                await commit(session)  # and the after-commit work: the cache forgets the keys
                return result
        finally:
            counts.put_nowait(None)

    # A task, not this generator, does the work: the browser leaving cancels the stream, and
    # an import already under way must complete (and commit) as the plain form post's does.
    task = asyncio.create_task(run())
    try:
        yield _line({"event": "start", "total": upload.total, "format": upload.parsed.format})
        rows = 0
        while (count := await counts.get()) is not None:
            rows += count
            yield _line({"event": "progress", "rows": rows, "total": upload.total})
        summary = _summary(upload.filename, await task)
        html = templates.get_template("_import_result.html").render(result=summary)
        yield _line({"event": "done", "rows": rows, "html": html})
    finally:
        with anyio.CancelScope(shield=True):
            await asyncio.wait({task})


@router.get("/export.csv")
async def export_csv(request: Request, acting: PageReader, session: SessionDep) -> Response:
    # Streamed a page of links at a time, so the browser shows the download's progress.
    runtime = runtime_of(request)
    rows = await export.export_started(
        runtime.read_sessionmaker, acting=acting, separate=runtime.separate_reads, session=session
    )
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="links.csv"',
            "cache-control": "no-store",
        },
    )
