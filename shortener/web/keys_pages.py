"""/dashboard/keys: the user's API keys (list, create, revoke). Thin routes over apikeys.service.

A new key is shown in the answer to the creating POST itself, never put in a cookie or a
redirect: it exists in clear only in that one response (sent with cache-control: no-store).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from shortener.apikeys import service
from shortener.apikeys.schemas import ALL_SCOPES, DEFAULT_SCOPES, ApiKeyCreate
from shortener.compat.yourls.auth import signature_token
from shortener.db import SessionDep
from shortener.errors import Invalid
from shortener.fields import RowId
from shortener.models import User
from shortener.runtime import runtime_of
from shortener.web.csrf import check_csrf
from shortener.web.forms import form_errors, text_and_choices
from shortener.web.pages import redirect, render
from shortener.web.session import PageKeys
from shortener.workspaces.acting import Acting

router = APIRouter(prefix="/dashboard/keys", include_in_schema=False)
Csrf = Depends(check_csrf)
SCOPES = sorted(ALL_SCOPES)
KEY_FIELDS = ("name", "scopes")


async def _context(request: Request, session: SessionDep, acting: Acting) -> dict[str, Any]:
    keys = await service.list_keys(session, acting=acting)
    signing_key = runtime_of(request).settings.signing_key
    member_keys = None  # not a section of the page
    if acting.may("members:write") and acting.workspace.personal_user_id is None:
        member_keys = [
            (key, created_by, service.scopes_of(key))
            for key, created_by in await service.list_member_keys(session, acting=acting)
            if key.user_id != acting.user.id
        ]
    return {
        "keys": [(key, None, service.scopes_of(key)) for key in keys],
        "member_keys": member_keys,
        # What YOURLS clients that sign with a timestamp need (see compat/yourls/auth.py).
        "signature_tokens": {key.id: signature_token(signing_key, key.key_hash) for key in keys},
        "all_scopes": SCOPES,
        "default_scopes": DEFAULT_SCOPES,
        "values": {"name": "", "scopes": []},
    }


@router.get("")
async def keys_page(request: Request, acting: PageKeys, session: SessionDep) -> Response:
    context = await _context(request, session, acting)
    return render(request, "keys.html", context, user=acting.user)


@router.post("", dependencies=[Csrf])
async def create_key(request: Request, acting: PageKeys, session: SessionDep) -> Response:
    user = acting.user
    values = text_and_choices(await request.form(), "name", "scopes")
    try:
        # No box ticked is the API's "scopes omitted": the default scopes, not an error.
        body = ApiKeyCreate.model_validate({k: v for k, v in values.items() if v or k != "scopes"})
        api_key, key = await service.create_key(
            session, acting=acting, name=body.name, scopes=list(body.scopes)
        )
    except (ValidationError, Invalid) as exc:
        errors = form_errors(exc, KEY_FIELDS)
        context = await _context(request, session, acting) | {"errors": errors, "values": values}
        return render(request, "keys.html", context, user=user, status=422)
    shown = {"what": "api-key", "name": api_key.name, "key": key}
    return redirect(request, "/dashboard/keys", "API key created.", shown=shown, to=user)


@router.get("/{key_id}/revoke")
async def confirm_revoke(
    request: Request, key_id: RowId, acting: PageKeys, session: SessionDep
) -> Response:
    """Revoking asks first, also without JavaScript: this page holds the form that revokes."""
    user = acting.user
    api_key = await service.get_key(session, acting=acting, key_id=key_id)
    # A member's key (an owner or admin revoking it): the page says whose.
    creator = None if api_key.user_id == user.id else await session.get(User, api_key.user_id)
    context = {"key": api_key, "created_by": creator.email if creator else None}
    return render(request, "key_revoke.html", context, user=user)


@router.post("/{key_id}/revoke", dependencies=[Csrf])
async def revoke_key(
    request: Request, key_id: RowId, acting: PageKeys, session: SessionDep
) -> Response:
    await service.revoke_key(session, acting=acting, key_id=key_id)
    return redirect(request, "/dashboard/keys", "The API key is revoked.")
