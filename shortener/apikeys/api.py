"""The API keys API. Managing keys needs a bearer token: a key cannot mint or revoke keys."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from shortener.apikeys import service
from shortener.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from shortener.db import SessionDep
from shortener.fields import RowId
from shortener.models import ApiKey
from shortener.openapi import errors
from shortener.workspaces.deps import KeysWriter

router = APIRouter(prefix="/api/keys", tags=["api keys"], responses=errors(401, 403, 404))


def _public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id or 0,
        name=key.name,
        scopes=service.scopes_of(key),
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_key(body: ApiKeyCreate, acting: KeysWriter, session: SessionDep) -> ApiKeyCreated:
    api_key, key = await service.create_key(
        session, acting=acting, name=body.name, scopes=list(body.scopes)
    )
    return ApiKeyCreated(**_public(api_key).model_dump(), key=key)


@router.get("", response_model=list[ApiKeyPublic])
async def list_keys(acting: KeysWriter, session: SessionDep) -> list[ApiKeyPublic]:
    return [_public(k) for k in await service.list_keys(session, acting=acting)]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: RowId, acting: KeysWriter, session: SessionDep) -> Response:
    await service.revoke_key(session, acting=acting, key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
