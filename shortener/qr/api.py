"""`GET /api/links/{key}/qr`: the QR code of a link's short URL, for its owner."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from shortener.db import SessionDep
from shortener.domains.service import domain_id_of
from shortener.links.api import DomainQuery
from shortener.links.deps import LinkContextDep
from shortener.links.keypath import KEY
from shortener.links.service import get_link, to_public
from shortener.openapi import errors
from shortener.qr.service import QRFormat, render
from shortener.workspaces.deps import LinksReader

router = APIRouter(tags=["links"], responses=errors(401, 403, 404))

# Private: the link's owner asked with a token. A day: the short URL of a key never changes.
CACHE_CONTROL = "private, max-age=86400"


@router.get(
    f"/api/links/{KEY}/qr",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}, "image/png": {}}, "description": "the QR code"},
        304: {"description": "the image the client has (If-None-Match) is current"},
    },
)
async def link_qr(
    key: str,
    request: Request,
    acting: LinksReader,
    session: SessionDep,
    ctx: LinkContextDep,
    format: Annotated[QRFormat, Query(description="svg (default) or png")] = "svg",
    domain: DomainQuery = None,
) -> Response:
    domain_id = await domain_id_of(session, acting=acting, hostname=domain, ctx=ctx)
    link = await get_link(session, acting=acting, key=ctx.key(key), domain_id=domain_id)
    public = (await to_public(session, [link], ctx.base_url))[0]
    image = render(public.short_url, format)
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": image.etag, "Vary": "Authorization"}
    if image.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(image.body, media_type=image.media_type, headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
