"""/yourls-api.php: YOURLS's one endpoint, GET or POST, form or multipart; and where a user
finds the signature tokens their YOURLS clients sign with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response

from shortener.apikeys import service as apikeys_service
from shortener.compat.yourls import actions
from shortener.compat.yourls.auth import signature_token, yourls_principal
from shortener.compat.yourls.output import FORMATS, render, valid_callback
from shortener.db import SessionDep
from shortener.errors import DomainError, TooManyRequests, Unauthorized
from shortener.links.deps import LinkContextDep, quota_for
from shortener.openapi import errors
from shortener.runtime import runtime_of
from shortener.workspaces.deps import WORKSPACE_HEADER, KeysWriter, act

router = APIRouter(tags=["compatibility"])
MAX_PARAM = 10_000  # characters: longer than any URL, keyword or title can be


async def _params(request: Request) -> dict[str, str]:
    """$_REQUEST as PHP builds it: the query string, then the form body over it."""
    params = {k: v for k, v in request.query_params.items() if len(v) <= MAX_PARAM}
    if request.method == "POST":
        try:
            form = await request.form()
        except (HTTPException, ValueError, UnicodeDecodeError):
            return params  # not a form body: what the query string says, as PHP would
        params |= {
            k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)
            and len(v) <= MAX_PARAM
        }  # fmt: skip
    return params


_FORMATS: dict[str, Any] = {
    "content": {t: {} for t in ("application/xml", "application/json", "text/plain")}
}


_ROUTE: dict[str, Any] = {
    "response_class": Response,
    # Failures are YOURLS results too (status, code, message), in the format asked for.
    "responses": {
        code: _FORMATS | {"description": "a YOURLS result"} for code in (200, 400, 403, 404, 429)
    },
}


@router.get("/yourls-api.php", operation_id="yourls_api_get", **_ROUTE)
@router.post("/yourls-api.php", operation_id="yourls_api_post", **_ROUTE)
async def yourls_api(request: Request, session: SessionDep, ctx: LinkContextDep) -> Response:
    """YOURLS's API: `action` shorturl, expand, url-stats, stats, db-stats or version; `format`
    xml (default), json, jsonp (with `callback`) or simple; signed with `signature` (an API key
    or its signature token), `timestamp` + `signature` (+ `hash`), or `username` + `password`."""
    params = await _params(request)
    fmt = params.get("format", "xml").lower()
    fmt = fmt if fmt in FORMATS else "simple"
    callback = params.get("callback") or params.get("jsonp")
    if callback is not None and not valid_callback(callback):
        message = "Invalid callback: a JavaScript function name, at most 100 characters"
        return render({"errorCode": 400, "message": message, "simple": message}, "json", None)
    extra: dict[str, Any] = {"callback": callback} if callback else {}
    try:
        principal = await yourls_principal(request, session, params)
    except Unauthorized as exc:
        message = str(exc.detail)
        return render({"simple": message, "message": message, "errorCode": 403} | extra, fmt,
                      callback)  # fmt: skip
    except TooManyRequests as exc:
        message = str(exc.detail)
        answer = render({"simple": message, "message": message, "errorCode": 429} | extra, fmt,
                        callback)  # fmt: skip
        answer.headers.update(exc.headers or {})
        return answer
    try:
        # X-Workspace, as on every workspace-scoped route (a key acts in its own only).
        acting = await act(session, principal, request.headers.get(WORKSPACE_HEADER))
    except DomainError as exc:
        return render(actions.failure(exc) | extra, fmt, callback)
    call = actions.Call(session, acting, ctx, quota_for(request, principal.user), params)
    return render(await actions.run(call) | extra, fmt, callback)


class SignatureToken(BaseModel):
    key_id: int
    name: str
    prefix: str
    signature_token: str


@router.get(
    "/api/yourls/signature-tokens", response_model=list[SignatureToken], responses=errors(401, 403)
)
async def signature_tokens(
    request: Request, acting: KeysWriter, session: SessionDep
) -> list[SignatureToken]:
    """The YOURLS signature token of each of your API keys, for clients that sign requests with
    `timestamp` + `signature` (md5 or sha256 of the timestamp and the token); the key itself
    works as a plain `signature`."""
    signing_key = runtime_of(request).settings.signing_key
    keys = await apikeys_service.list_keys(session, acting=acting)
    return [
        SignatureToken(
            key_id=key.id or 0,
            name=key.name,
            prefix=key.prefix,
            signature_token=signature_token(signing_key, key.key_hash),
        )
        for key in keys
    ]
