"""Domain errors, and the one place that turns them into HTTP answers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response


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


class Gone(DomainError):
    status_code = 410
    default_detail = "gone"


class Invalid(DomainError):
    """A value the schema accepted but the domain does not (taken to mean: 422)."""

    status_code = 422
    default_detail = "invalid"

    def __init__(self, detail: Any = None, *, field: str | None = None) -> None:
        if field is not None:
            detail = [{"loc": ["body", field], "msg": detail, "type": "value_error"}]
        super().__init__(detail)


class TooLarge(DomainError):
    status_code = 413
    default_detail = "request body too large"


class TooManyRequests(DomainError):
    status_code = 429
    default_detail = "too many requests"

    def __init__(self, retry_after: int, detail: Any = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


def wants_html(request: Request) -> bool:
    """Browsers (and the dashboard) get HTML pages; the API and scripts get JSON."""
    if request.url.path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def _clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    # Pydantic puts the rejected input and a context object in each error; the input may be a
    # 5 MB string or a password, and the context may not serialise. Keep what helps the caller.
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in errors
    ]


def install_error_handlers(app: FastAPI) -> None:
    from shortener.web.pages import render_error_page

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if wants_html(request):
            return render_error_page(request, exc.status_code, str(exc.detail), exc.headers)
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if wants_html(request):
            return render_error_page(request, exc.status_code, str(exc.detail), exc.headers)
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": _clean_validation_errors(exc.errors())}, 422)

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
