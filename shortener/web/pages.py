"""HTML answers for browsers: the error pages the one error mapping uses."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from starlette.responses import Response

TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "Already exists",
    410: "No longer available",
    413: "Too large",
    422: "Please check your input",
    429: "Slow down",
}


def render_error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    templates = request.app.state.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "Something went wrong"), "message": message},
        status_code=status,
        headers=dict(headers or {}),
    )
