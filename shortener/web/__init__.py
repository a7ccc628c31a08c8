"""The browser dashboard: pages, cookie sign-in, CSRF, SVG charts."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from shortener.docs_pages import DOCS_URL, REDOC_URL
from shortener.web.security import HtmlSecurityHeaders
from shortener.web.session import LoginRequired, RenewedSessionCookie

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def install_dashboard(app: FastAPI) -> None:
    """Pages, /static, and the HTML security headers for every page FastAPI answers (the
    redirect path, which answers before FastAPI, sends the same headers itself)."""
    from shortener.web.audit_pages import router as audit_pages
    from shortener.web.auth_pages import router as auth_pages
    from shortener.web.dashboard import router as dashboard
    from shortener.web.domain_pages import router as domain_pages
    from shortener.web.invitation_pages import router as invitation_pages
    from shortener.web.keys_pages import router as keys_pages
    from shortener.web.links_list import router as links_list
    from shortener.web.orphan_pages import router as orphan_pages
    from shortener.web.reset_pages import router as reset_pages
    from shortener.web.sso_pages import router as sso_pages
    from shortener.web.transfer_pages import router as transfer_pages
    from shortener.web.two_factor_pages import router as two_factor_pages
    from shortener.web.webhook_pages import router as webhook_pages
    from shortener.web.workspace_pages import router as workspace_pages

    async def login_required(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(exc.location, status_code=303)

    app.add_exception_handler(LoginRequired, login_required)
    app.include_router(auth_pages)
    app.include_router(reset_pages)
    app.include_router(two_factor_pages)
    app.include_router(sso_pages)
    app.include_router(invitation_pages)
    app.include_router(workspace_pages)
    app.include_router(links_list)
    app.include_router(dashboard)
    app.include_router(keys_pages)
    app.include_router(webhook_pages)
    app.include_router(domain_pages)
    app.include_router(transfer_pages)
    app.include_router(orphan_pages)
    app.include_router(audit_pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(HtmlSecurityHeaders, exempt=(DOCS_URL, REDOC_URL))
    app.add_middleware(RenewedSessionCookie)
