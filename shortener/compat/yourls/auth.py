"""Who calls /yourls-api.php: the three ways YOURLS clients sign their requests.

- `signature=KEY`: one of the user's API keys (one indexed look-up, as with X-API-Key), or the
  key's YOURLS signature token (below);
- `timestamp` + `signature` (+ `hash`: md5, the default, or sha256): the hash of the timestamp
  and the key's signature token, in either order as YOURLS accepts, for 12 hours around the
  timestamp (YOURLS_NONCE_LIFE);
- `username` + `password`: the account's email and password, under the sign-in limits.

Only the SHA-256 of an API key is stored, so a hash of "timestamp + key" cannot be checked. The
signature token is what YOURLS calls the user's secret: here HMAC(SECRET_KEY, the key's stored
hash), shown to its owner (GET /api/yourls/signature-tokens). A database leak alone does not
yield it, and revoking the key revokes its token. A timestamped signature names no key, so
every active key's token is tried (as YOURLS tries every user); failures count against the
sign-in limit of the caller's address, so this cannot be used to guess at scale.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request

from shortener.apikeys import service as apikeys_service
from shortener.apikeys.schemas import ALL_SCOPES
from shortener.auth import service as auth_service
from shortener.auth.deps import Principal
from shortener.auth.limits import login_attempt, login_failed
from shortener.auth.totp import two_factor_required
from shortener.errors import Unauthorized
from shortener.models import ApiKey, User
from shortener.ratelimit import RateLimiter, peer_address
from shortener.runtime import runtime_of

NONCE_LIFE = 43_200  # seconds either side of a timestamp (YOURLS's default)
HASHES: Mapping[str, Callable[[bytes], hashlib._Hash]] = {
    "md5": hashlib.md5,
    "sha256": hashlib.sha256,
}
PLEASE_LOG_IN = "Please log in"
WRONG = "Invalid username or password"
NEEDS_KEY = "Two-factor sign-in is on for this account: sign with an API key (signature) instead"


def signature_token(signing_key: str, key_hash: str) -> str:
    """The YOURLS signature token of the API key whose stored hash is `key_hash`."""
    mac = hmac.new(signing_key.encode(), b"yourls-signature\0" + key_hash.encode(), "sha256")
    return mac.hexdigest()[:32]


async def yourls_principal(
    request: Request, session: AsyncSession, params: Mapping[str, str]
) -> Principal:
    """The caller, or Unauthorized with YOURLS's own message."""
    signature = params.get("signature", "")
    username, password = params.get("username", ""), params.get("password", "")
    if signature:
        if params.get("timestamp"):
            return await _timed_signature(request, session, params)
        if apikeys_service.looks_like_key(signature):
            key, user = await apikeys_service.authenticate(session, signature)
            return Principal(
                user, frozenset(apikeys_service.scopes_of(key)), key.id, key.workspace_id
            )
        return await _by_token(
            request, session, lambda token: hmac.compare_digest(token.encode(), signature.encode())
        )
    if username and password:
        await login_attempt(request, username)
        account = await auth_service.authenticate(session, email=username, password=password)
        if account is None:
            await login_failed(request, username)
            raise Unauthorized(WRONG)
        if two_factor_required(account):
            # YOURLS has no field for a code: a password alone must not get past 2FA here.
            raise Unauthorized(NEEDS_KEY)
        return Principal(account, ALL_SCOPES)
    raise Unauthorized(PLEASE_LOG_IN)


async def _timed_signature(
    request: Request, session: AsyncSession, params: Mapping[str, str]
) -> Principal:
    timestamp, signature = params["timestamp"], params["signature"].lower()
    digest = HASHES.get(params.get("hash", "md5").lower())
    if digest is None or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Unauthorized(WRONG)
    if abs(time.time() - int(timestamp)) >= NONCE_LIFE:
        raise Unauthorized(WRONG)
    stamp, expected = timestamp.encode(), signature.encode()  # bytes: any text compares

    def matches(token: str) -> bool:
        secret = token.encode()
        return any(
            hmac.compare_digest(digest(data).hexdigest().encode(), expected)
            for data in (stamp + secret, secret + stamp)
        )

    return await _by_token(request, session, matches)


async def _by_token(
    request: Request, session: AsyncSession, matches: Callable[[str], bool]
) -> Principal:
    limiter: RateLimiter = runtime_of(request).rate_limiter
    address = peer_address(request)
    # The same budget as failed sign-ins from this address: a refused guess costs the guesser.
    await limiter.check("login_ip", address)
    signing_key = runtime_of(request).settings.signing_key
    rows = await session.execute(
        select(ApiKey, User)
        .join(User, col(User.id) == col(ApiKey.user_id))
        .where(col(ApiKey.revoked_at).is_(None), col(User.is_active))
    )
    for key, user in rows:
        if matches(signature_token(signing_key, key.key_hash)):
            return Principal(
                user, frozenset(apikeys_service.scopes_of(key)), key.id, key.workspace_id
            )
    await limiter.count("login_ip", address)
    raise Unauthorized(WRONG)
