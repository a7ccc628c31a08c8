"""HTML answers for browsers: the page renderer, redirects with a flash, the error pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from shortener.models import User
from shortener.runtime import runtime_of
from shortener.web.csrf import apply_csrf_cookie, csrf_token
from shortener.web.session import (
    FLASH_COOKIE,
    Flash,
    FlashKind,
    clear_cookie,
    read_flash,
    set_flash,
)
from shortener.workspaces.paths import dashboard_url

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
    502: "Could not reach a service we rely on",
}


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    user: User | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render a page with what every page needs: the user, a CSRF token, the flash message
    and what it carries to be shown once (`shown`)."""
    flash: Flash | None = read_flash(request)
    full: dict[str, Any] = {
        "user": user,
        "csrf_token": csrf_token(request),
        "flash": flash,
        "shown": flash.shown_to(user) if flash is not None else None,
        "errors": {},
        "values": {},
        **(context or {}),
    }
    response: Response = runtime_of(request).templates.TemplateResponse(
        request, template, full, status_code=status, headers=dict(headers or {})
    )
    response.headers["cache-control"] = "no-store"
    apply_csrf_cookie(request, response)
    if flash is not None:
        clear_cookie(response, runtime_of(request).settings, FLASH_COOKIE)
    return response


def redirect(
    request: Request,
    location: str,
    flash: str | None = None,
    kind: FlashKind = "success",
    *,
    shown: Mapping[str, str] | None = None,
    to: User | None = None,
) -> Response:
    """303 See Other after a form post, with an optional message for the next page, and
    values that page shows once to user `to` (a new secret: a reload of the page that made it
    makes no second one); a dashboard page stays in the workspace it was asked in
    (/w/{slug}/dashboard...)."""
    response = RedirectResponse(dashboard_url(request, location), status_code=303)
    if flash:
        made = Flash(flash, kind, dict(shown) if shown else None, to.id if to else None)
        set_flash(response, runtime_of(request).settings, made)
    return response


def render_error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    templates = runtime_of(request).templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "Something went wrong"), "message": message},
        status_code=status,
        headers=dict(headers or {}),
    )
