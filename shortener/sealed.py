"""Sealing: AES-GCM under a key derived from SECRET_KEY, one key per purpose.

For what only this service may read, whether kept (TOTP secrets in the database) or carried
(a new API key or invitation link across a redirect, in a cookie). Sealed with a context (the
user's id, say) that must be given again to open it: a value sealed for one user does not
open for another. Changing SECRET_KEY makes everything sealed before unreadable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class Sealer:
    def __init__(self, signing_key: str, purpose: str) -> None:
        key = hmac.new(signing_key.encode(), purpose.encode(), hashlib.sha256).digest()
        self._aead = AESGCM(key)

    def seal(self, plain: bytes, context: str) -> str:
        """URL-safe base64 of a fresh nonce and the ciphertext, without '=' padding (a cookie
        value with '=' gets quoted)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plain, context.encode())
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, sealed: str, context: str) -> bytes | None:
        """The plain bytes, or None when `sealed` was not made by this sealer for `context`
        (forged, cut, another purpose or SECRET_KEY, another context)."""
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError):
            return None
