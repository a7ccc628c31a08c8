"""The API keys API. Managing keys needs a bearer token: a key cannot mint or revoke keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from shortener.apikeys import service
from shortener.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from shortener.db import SessionDep
from shortener.fields import RowId
from shortener.models import ApiKey
from shortener.openapi import errors
from shortener.workspaces.deps import KeysWriter

router = APIRouter(prefix="/api/keys", tags=["api keys"], responses=errors(401, 403, 404))


def _public(key: ApiKey, created_by: str) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id or 0,
        name=key.name,
        scopes=service.scopes_of(key),
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        created_by=created_by,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_key(body: ApiKeyCreate, acting: KeysWriter, session: SessionDep) -> ApiKeyCreated:
    api_key, key = await service.create_key(
        session, acting=acting, name=body.name, scopes=list(body.scopes)
    )
    return ApiKeyCreated(**_public(api_key, acting.user.email).model_dump(), key=key)


@router.get("", response_model=list[ApiKeyPublic])
async def list_keys(
    acting: KeysWriter,
    session: SessionDep,
    members: Annotated[
        bool,
        Query(description="every member's keys, not only yours (owners and admins only)"),
    ] = False,
) -> list[ApiKeyPublic]:
    if members:
        return [_public(k, by) for k, by in await service.list_member_keys(session, acting=acting)]
    return [_public(k, acting.user.email) for k in await service.list_keys(session, acting=acting)]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: RowId, acting: KeysWriter, session: SessionDep) -> Response:
    await service.revoke_key(session, acting=acting, key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
