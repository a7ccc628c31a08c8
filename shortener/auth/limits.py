"""Sign-in and registration limits, built so that strangers cannot lock an owner out.

- per address (`login_ip`): every attempt counts; a guesser's own address is refused first;
- per account and address (`login_pair`): only failures count; past the limit that address is
  refused for that account, and nobody else is;
- per account (`login_account`): only failures count, from anywhere; past the limit every
  attempt on the account waits `login_slowdown_seconds` before its password is checked. A
  delay, never a refusal: an owner whose account is under attack still signs in, a little
  slower, and a serial guesser gets that many fewer guesses.

- per account, second factor (`login_otp`): wrong two-factor codes, which only someone holding
  the password can send; past the limit the second step is refused, bounding guesses at a
  6-digit code (a wrong code also counts as a failed sign-in above).

Failures are counted after the password was checked and found wrong, so a right password never
uses anything up, and an attempt that was refused before any check counts nothing.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from shortener.auth.service import normalise_email
from shortener.ratelimit import RateLimiter, peer_address
from shortener.runtime import runtime_of


def _limiter(request: Request) -> RateLimiter:
    return runtime_of(request).rate_limiter  # type: ignore[no-any-return]


def _idents(request: Request, email: str) -> tuple[str, str, str]:
    address, account = peer_address(request), normalise_email(email)
    return address, account, f"{account}\n{address}"


async def login_attempt(request: Request, email: str) -> None:
    """Call before checking a password: refuses (429) or slows down as described above."""
    limiter = _limiter(request)
    address, account, pair = _idents(request, email)
    await limiter.hit("login_ip", address)
    await limiter.check("login_pair", pair)
    if await limiter.used_up("login_account", account):
        await asyncio.sleep(runtime_of(request).settings.login_slowdown_seconds)


async def login_failed(request: Request, email: str) -> None:
    """Call when the password was wrong (or the account unknown): count the failure."""
    limiter = _limiter(request)
    _, account, pair = _idents(request, email)
    await limiter.count("login_pair", pair)
    await limiter.count("login_account", account)


async def second_factor_attempt(request: Request, email: str) -> None:
    """Call before checking a two-factor code: 429 once the account's wrong codes are used up."""
    await _limiter(request).check("login_otp", normalise_email(email))


async def second_factor_failed(request: Request, email: str) -> None:
    """A wrong two-factor code: counts as a failed sign-in, and against the account's codes."""
    await login_failed(request, email)
    await _limiter(request).count("login_otp", normalise_email(email))


async def limit_registration(request: Request) -> None:
    """A dependency for routes that create accounts."""
    await _limiter(request).hit("register_ip", peer_address(request))


async def limit_password_reset(request: Request, email: str) -> None:
    """Reset requests per client address and per e-mail address asked about. The address is
    counted whether it has an account or not, so a 429 tells nothing about who exists."""
    limiter = _limiter(request)
    await limiter.hit("reset_ip", peer_address(request))
    await limiter.hit("reset_email", normalise_email(email))


async def limit_verification_mail(request: Request, user_id: int) -> None:
    await _limiter(request).hit("verify_user", str(user_id))


async def limit_sign_in_ip(request: Request) -> None:
    """A dependency for sign-in routes that check no password (single sign-on): the same
    per-address budget as password sign-ins."""
    await _limiter(request).hit("login_ip", peer_address(request))
