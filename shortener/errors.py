"""Domain errors: what services raise. shortener/web/errors.py turns them into HTTP answers."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail if detail is not None else self.default_detail
        self.headers = headers

    default_detail: Any = "bad request"


class NotFound(DomainError):
    status_code = 404
    default_detail = "not found"


class Conflict(DomainError):
    status_code = 409
    default_detail = "conflict"


class Unauthorized(DomainError):
    status_code = 401
    default_detail = "not authenticated"

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status_code = 403
    default_detail = "forbidden"


# Every refusal for want of a site administrator says the same thing, wherever it is made.
ADMINS_ONLY = "this needs an administrator"


class Gone(DomainError):
    """It existed and is over: a used or expired link."""

    status_code = 410
    default_detail = "this link has expired or has already been used; ask for a new one"


class Invalid(DomainError):
    """A value the schema accepted but the domain does not (taken to mean: 422)."""

    status_code = 422
    default_detail = "invalid"

    def __init__(self, detail: Any = None, *, field: str | None = None) -> None:
        if field is not None:
            detail = [{"loc": ["body", field], "msg": detail, "type": "value_error"}]
        super().__init__(detail)


class TooManyRequests(DomainError):
    status_code = 429
    default_detail = "too many requests"

    def __init__(self, retry_after: int, detail: Any = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ReadDatabaseUnavailable(DomainError):
    """DATABASE_READ_URL does not answer: statistics and exports wait for it (503)."""

    status_code = 503
    default_detail = (
        "the read database (DATABASE_READ_URL) that serves statistics and exports is "
        "unavailable; try again shortly"
    )

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "5"})


class SsoFailed(DomainError):
    """Single sign-on could not finish: the provider said no, or sent what does not check out
    (a state that is not this browser's, a refused code, an ID token that fails its checks)."""

    status_code = 400
    default_detail = "single sign-on failed; please try again"


class ProviderUnavailable(DomainError):
    """The single sign-on provider could not be asked (down, unreachable, or answering wrong)."""

    status_code = 502
    default_detail = "the single sign-on provider is unavailable; try again shortly"
