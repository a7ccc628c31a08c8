"""Who is calling: the typed dependencies routes declare."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from shortener.apikeys import service as apikeys_service
from shortener.apikeys.schemas import ALL_SCOPES, Scope
from shortener.auth.sessions import SignedIn, signed_in
from shortener.db import SessionDep, settle
from shortener.errors import ADMINS_ONLY, Forbidden, Unauthorized
from shortener.models import User
from shortener.runtime import runtime_of

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
BEARER_ONLY = "this needs a signed-in user (Authorization: Bearer); API keys cannot"


async def current_sign_in(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> SignedIn:
    """The bearer token's user and session (401 without a valid one)."""
    found = await _sign_in(request, session, token, api_key)
    await settle(session)
    return found


async def _sign_in(
    request: Request, session: AsyncSession, token: str | None, api_key: str | None
) -> SignedIn:
    """current_sign_in, its look-up's transaction left open (see identify)."""
    if not token:
        if api_key:
            # Not 401: the key may be fine, it is only not the kind of credential this takes.
            raise Forbidden(BEARER_ONLY)
        raise Unauthorized("not authenticated: send Authorization: Bearer <token>")
    if apikeys_service.looks_like_key(token):
        # The most common first mistake with a key: say where it goes, not "invalid token".
        raise Unauthorized(
            "this is an API key, not a bearer token: send it as X-API-Key: <key> "
            "(Authorization: Bearer takes a token from POST /api/auth/token)"
        )
    found = await signed_in(session, token=token, key=runtime_of(request).settings.signing_key)
    if found is None:
        raise Unauthorized("invalid, expired or revoked token")
    return found


async def current_user(sign_in: Annotated[SignedIn, Depends(current_sign_in)]) -> User:
    return sign_in.user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise Forbidden(ADMINS_ONLY)
    return user


CurrentUser = Annotated[User, Depends(current_user)]
CurrentSignIn = Annotated[SignedIn, Depends(current_sign_in)]
AdminUser = Annotated[User, Depends(admin_user)]


# ---- principals: a bearer token or an API key, with scopes ------------------------------
#
# Routes that scripts may call declare what they need (workspace-scoped ones through
# shortener/workspaces/deps.py, which cuts these scopes to the caller's role), or
# `require_scope(...)`: a bearer token carries every scope, an API key only those it was
# created with. `CurrentUser` above stays bearer-only, for what a key may never do.


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and what they may do."""

    user: User
    scopes: frozenset[str]
    # Set when the caller authenticated with an API key rather than a bearer token; the
    # workspace the key belongs to (it acts there only).
    api_key_id: int | None = None
    api_key_workspace_id: int | None = None


async def current_principal(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    principal = await identify(request, session, token, api_key)
    await settle(session)
    return principal


async def identify(
    request: Request, session: AsyncSession, token: str | None, api_key: str | None
) -> Principal:
    """current_principal, its look-up's transaction left open: for a dependency that reads
    more (the acting workspace) and then settles once (on SQLite each transaction of a request
    takes the write lock: one, not two, before the route's work)."""
    if api_key:
        if api_key.count(".") == 2 and not apikeys_service.looks_like_key(api_key):
            # The mirror mistake: a JWT (header.payload.signature) in the key's header.
            raise Unauthorized(
                "this is a bearer token, not an API key: send it as Authorization: Bearer <token>"
            )
        key, user = await apikeys_service.authenticate(session, api_key)
        scopes = frozenset(apikeys_service.scopes_of(key))
        return Principal(user, scopes, key.id, key.workspace_id)
    found = await _sign_in(request, session, token, None)
    return Principal(found.user, ALL_SCOPES)


def require_scope(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets in bearer tokens and API keys holding `scope` (403 otherwise)."""

    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"this API key lacks the '{scope}' scope")
        return principal

    return dependency


async def bearer_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if principal.api_key_id is not None:
        raise Forbidden(BEARER_ONLY)
    return principal


async def bearer_admin(principal: Annotated[Principal, Depends(bearer_principal)]) -> User:
    if not principal.user.is_admin:
        raise Forbidden(ADMINS_ONLY)
    return principal.user


AnyPrincipal = Annotated[Principal, Depends(current_principal)]
# The user behind a bearer token (a request with only an API key gets a clear 403).
BearerPrincipal = Annotated[Principal, Depends(bearer_principal)]
BearerAdmin = Annotated[User, Depends(bearer_admin)]
