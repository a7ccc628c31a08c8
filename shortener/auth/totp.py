"""Two-factor sign-in: TOTP (RFC 6238, 6 digits, 30 s) and single-use recovery codes.

- The secret is kept AES-GCM encrypted under a key derived from SECRET_KEY (and bound to the
  user's id), so a copy of the database alone does not give anyone the codes. Changing
  SECRET_KEY makes stored secrets unreadable: those users sign in with a recovery code and set
  two-factor sign-in up again (SECURITY.md).
- Recovery codes carry 80 random bits and are kept as their SHA-256, like API keys: a slow
  hash protects guessable secrets, and nobody enumerates 2**80 codes. A fast unkeyed hash also
  keeps them working after SECRET_KEY changes, which is when they are needed most.
- A TOTP code is accepted one step either side of now (clock drift) and never twice: the
  step it matched is stored, and only later steps pass afterwards.

No FastAPI here: errors are domain errors; sign-in limits are auth/second_factor.py's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from shortener.audit.service import record
from shortener.errors import Conflict, Invalid
from shortener.models import RecoveryCode, User
from shortener.sealed import Sealer

RECOVERY_CODE_COUNT = 10
DRIFT_STEPS = 1  # one 30 s step either side: phones' clocks are rarely better
WRONG_CODE = "the code is not right: enter the 6 digits your app shows now, or a recovery code"
_CIPHER_VERSION = "v1:"


@dataclass(frozen=True, slots=True)
class Setup:
    secret: str
    otpauth_uri: str
    qr_svg: str


def two_factor_required(user: User) -> bool:
    """Whether signing `user` in needs a second factor. The one place that decides it: today
    the user's own choice; workspace owners enforcing it (issue 16) will be added here."""
    return user.totp_enabled


# ---- the secret, encrypted at rest -------------------------------------------------------


def _sealer(signing_key: str) -> Sealer:
    return Sealer(signing_key, "shortener totp secret")


def _seal(secret: str, *, user_id: int, signing_key: str) -> str:
    return _CIPHER_VERSION + _sealer(signing_key).seal(secret.encode(), f"user:{user_id}")


def _open(user: User, signing_key: str) -> str | None:
    """The user's TOTP secret, or None when there is none or it cannot be read (SECRET_KEY
    changed): then only a recovery code gets them in."""
    stored = user.totp_secret
    if not stored or not stored.startswith(_CIPHER_VERSION):
        return None
    plain = _sealer(signing_key).open(stored.removeprefix(_CIPHER_VERSION), f"user:{user.id}")
    return None if plain is None else plain.decode()


# ---- codes ----------------------------------------------------------------------------------


def _matching_step(secret: str, code: str, now: float) -> int | None:
    totp = pyotp.TOTP(secret)
    current = int(now // totp.interval)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def _accept_totp(session: AsyncSession, user: User, code: str, signing_key: str) -> bool:
    secret = _open(user, signing_key)
    if secret is None or not (code.isdigit() and len(code) == 6):
        return False
    step = _matching_step(secret, code, time.time())
    if step is None:
        return False
    # Claimed in one conditional UPDATE: two sign-ins racing with one code cannot both pass
    # (the second waits for the first's row lock, then finds the step taken).
    last = col(User.totp_last_step)
    claimed = await session.execute(
        update(User)
        .where(col(User.id) == user.id, or_(last.is_(None), last < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def _normalise_recovery(code: str) -> str:
    return code.replace("-", "").replace(" ", "").lower()


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(_normalise_recovery(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    # 16 base32 characters = 80 bits, shown as four groups of four.
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


async def _use_recovery_code(session: AsyncSession, user: User, code: str) -> bool:
    result = await session.execute(
        delete(RecoveryCode).where(
            col(RecoveryCode.user_id) == user.id,
            col(RecoveryCode.code_hash) == hash_recovery_code(code),
        )
    )
    # Deleted = used: two sign-ins racing with one code cannot both delete the row.
    return bool(getattr(result, "rowcount", 0))


async def check_code(session: AsyncSession, *, user: User, code: str, signing_key: str) -> bool:
    """Whether `code` (a TOTP code or an unused recovery code) is right for `user` now;
    a right one is used up (the TOTP step is recorded, the recovery code deleted)."""
    code = code.strip()
    if await _accept_totp(session, user, code, signing_key):
        return True
    return await _use_recovery_code(session, user, code)


async def remaining_recovery_codes(session: AsyncSession, *, user: User) -> int:
    rows = await session.execute(
        select(col(RecoveryCode.id)).where(col(RecoveryCode.user_id) == user.id)
    )
    return len(rows.all())


# ---- turning it on and off -----------------------------------------------------------------


async def start_setup(session: AsyncSession, *, user: User, signing_key: str, issuer: str) -> Setup:
    """A new pending secret (replacing any earlier pending one) and how to load it in an app."""
    if user.totp_enabled:
        raise Conflict("two-factor sign-in is already on; turn it off first to set it up again")
    secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    user.totp_secret = _seal(secret, user_id=user.id or 0, signing_key=signing_key)
    user.totp_last_step = None
    session.add(user)
    await session.flush()
    return _describe(secret, email=user.email, issuer=issuer)


def pending_setup(user: User, *, signing_key: str, issuer: str) -> Setup | None:
    """The secret set up but not yet enabled (for the page that asks for its first code)."""
    secret = None if user.totp_enabled else _open(user, signing_key)
    return None if secret is None else _describe(secret, email=user.email, issuer=issuer)


def _describe(secret: str, *, email: str, issuer: str) -> Setup:
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, border=4, xmldecl=False)
    return Setup(secret=secret, otpauth_uri=uri, qr_svg=out.getvalue().decode())


async def enable(session: AsyncSession, *, user: User, code: str, signing_key: str) -> list[str]:
    """Turn two-factor sign-in on once `code` proves the app has the pending secret; returns
    the recovery codes, which exist in clear only in this answer."""
    if user.totp_enabled:
        raise Conflict("two-factor sign-in is already on")
    if user.totp_secret is None:
        raise Invalid("set two-factor sign-in up first (POST /api/auth/2fa/setup)", field="code")
    if not await _accept_totp(session, user, code.strip(), signing_key):
        raise Invalid(WRONG_CODE, field="code")
    user.totp_enabled = True
    session.add(user)
    await session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(
        RecoveryCode(user_id=user.id or 0, code_hash=hash_recovery_code(c)) for c in codes
    )
    await session.flush()
    await record(session, actor=user, action="auth.2fa_enabled", target=user.email)
    return codes


async def disable(session: AsyncSession, *, user: User, code: str, signing_key: str) -> None:
    """Turn two-factor sign-in off with a current code or a recovery code."""
    if not user.totp_enabled:
        raise Invalid("two-factor sign-in is not on", field="code")
    if not await check_code(session, user=user, code=code, signing_key=signing_key):
        raise Invalid(WRONG_CODE, field="code")
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    session.add(user)
    await session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    await session.flush()
    await record(session, actor=user, action="auth.2fa_disabled", target=user.email)
