"""The one place that turns errors into HTTP answers: JSON for the API and scripts, HTML pages
for browsers. Services raise the domain errors of shortener/errors.py and know nothing of HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shortener.compat.shlink.problems import problem_for
from shortener.errors import DomainError, Invalid
from shortener.redirect.answers import wants_html as accepts_html
from shortener.web.pages import render_error_page


def wants_html(request: Request) -> bool:
    """Browsers (and the dashboard) get HTML pages; the API and scripts get JSON."""
    return not request.url.path.startswith("/api/") and accepts_html(request.scope)


def _clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    # Pydantic puts the rejected input and a context object in each error; the input may be a
    # 5 MB string or a password, and the context may not serialise. Keep what helps the caller.
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in errors
    ]


def speaks_shlink(request: Request) -> bool:
    """Shlink's API answers errors as Shlink does (compat/shlink/problems.py)."""
    return request.url.path.startswith("/rest/")


def install_error_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if speaks_shlink(request):
            return problem_for(request, exc)
        if wants_html(request):
            return render_error_page(request, exc.status_code, str(exc.detail), exc.headers)
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if speaks_shlink(request):
            return problem_for(request, exc)
        if wants_html(request):
            return render_error_page(request, exc.status_code, str(exc.detail), exc.headers)
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if speaks_shlink(request):
            return problem_for(request, Invalid(_clean_validation_errors(exc.errors())))
        return JSONResponse({"detail": _clean_validation_errors(exc.errors())}, 422)

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
