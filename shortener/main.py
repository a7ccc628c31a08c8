"""The app factory: the lifespan owns every client and background task; `app` is built here."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from shortener import ops
from shortener.admin.api import router as admin_router
from shortener.apikeys.api import router as apikeys_router
from shortener.audit.api import router as audit_router
from shortener.auth.api import router as auth_router
from shortener.auth.reset_api import router as reset_router
from shortener.auth.two_factor_api import router as two_factor_router
from shortener.blocklist.api import router as blocklist_router
from shortener.compat.kutt.api import router as kutt_router
from shortener.compat.shlink import api as shlink_api
from shortener.compat.shlink.cors import ShlinkCors
from shortener.compat.yourls.api import router as yourls_router
from shortener.config import Settings, load_settings
from shortener.docs_pages import install_docs
from shortener.domains.api import router as domains_router
from shortener.domains.api import well_known as well_known_router
from shortener.links.api import router as links_router
from shortener.live.api import router as live_router
from shortener.middleware import BodySizeLimit, InternalErrors, SecurityHeaders, import_too_large
from shortener.observability import wiring as observability
from shortener.observability.access import RedirectApp, RedirectObserver
from shortener.observability.logs import configure_if_unconfigured
from shortener.openapi import errors
from shortener.orphans.api import router as orphans_router
from shortener.qr.api import router as qr_router
from shortener.redirect.entry import Redirector, redirect_key
from shortener.runtime import Runtime, open_runtime
from shortener.stats.api import router as stats_router
from shortener.templating import make_templates
from shortener.transfer.api import router as transfer_router
from shortener.web import install_dashboard
from shortener.web.errors import install_error_handlers
from shortener.webhooks.api import router as webhooks_router
from shortener.workspaces.api import router as workspaces_router
from shortener.workspaces.paths import in_workspace

# The routes that take a CSV upload: IMPORT_MAX_BYTES instead of MAX_BODY_BYTES.
IMPORT_PATHS = ("/api/links/import", "/dashboard/transfer/import")

log = logging.getLogger(__name__)


class ShortenerApp(FastAPI):
    """FastAPI, with the redirect path answered before FastAPI's own stack is entered."""

    redirector: Redirector
    answer_redirect: RedirectApp  # the redirector, with request ids and status counts
    redirect_statuses: Mapping[int, int]  # the redirect path's answers by status (metrics)
    runtime: Runtime  # set by the lifespan; routes reach it through runtime_of(request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (dashboard := in_workspace(scope)) is not None:  # /w/{slug}/dashboard...
            await super().__call__(dashboard, receive, send)
            return
        key = redirect_key(scope)
        if key is not None or await self.redirector.is_domain_root(scope):
            await self.answer_redirect(scope, receive, send, key or "")
            return
        await super().__call__(scope, receive, send)


def _quiet_garbage_collector() -> None:
    """Keep the cyclic garbage collector from pausing redirects for whole milliseconds.

    Measured under redirect load: two full collections in 8 s, each walking every object
    loaded at start (ua-parser's rules, the GeoIP tables, SQLAlchemy, ...), paused the worker
    for up to 212 ms: the benchmark's p99. What exists after start-up lives as long as the
    process: freeze it out of collections. Requests free nearly everything they allocate by
    reference counting, so young collections can be rarer too (every 20,000 net allocations
    instead of 700); cycles are still collected.
    """
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(20_000, older, oldest)


def create_app(settings: Settings | None = None) -> ShortenerApp:
    settings = settings or load_settings()

    templates = make_templates()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert isinstance(app, ShortenerApp)
        configure_if_unconfigured(settings)  # plain uvicorn / gunicorn: log as serve does
        async with open_runtime(
            settings, templates=templates, redirect_statuses=app.redirect_statuses
        ) as runtime:
            app.runtime = runtime
            app.redirector.runtime = runtime
            if settings.environment != "test":  # tests build hundreds of apps in one process
                _quiet_garbage_collector()
            yield

    app = ShortenerApp(
        title="shortener",
        summary="Short links with private, exact click analytics",
        version="0.1.0",
        lifespan=lifespan,
        # Our own /docs and /redoc (shortener/docs_pages.py): their assets from the package.
        docs_url=None,
        redoc_url=None,
        # Any route can meet these: a body too large or unparsable, the database away.
        responses=errors(400, 413, 503),
    )
    install_error_handlers(app)
    app.include_router(ops.router)
    app.include_router(auth_router)
    app.include_router(reset_router)
    app.include_router(two_factor_router)
    app.include_router(apikeys_router)
    app.include_router(workspaces_router)
    # Before links_router: its /api/links/{key:path} (keys may hold '/') would otherwise
    # answer /api/links/export, and /api/links/a/b/stats as the link `a/b/stats`. A link's
    # sub-resources are matched first; no multi-segment key ends in one (keys.SUB_RESOURCES).
    app.include_router(transfer_router)
    app.include_router(stats_router)
    app.include_router(qr_router)
    app.include_router(links_router)
    app.include_router(orphans_router)
    install_docs(app)
    # Before the dashboard's /dashboard/links/{key} (keys may hold '/'), which would otherwise
    # take ".../live" for a key.
    app.include_router(live_router)
    install_dashboard(app)
    app.include_router(webhooks_router)
    app.include_router(admin_router)
    app.include_router(audit_router)
    app.include_router(blocklist_router)
    app.include_router(domains_router)
    app.include_router(well_known_router)
    # Other shorteners' APIs, for the clients people already use (see shortener/compat).
    shlink_api.include(app)
    app.include_router(yourls_router)
    app.include_router(kutt_router)
    # add_middleware puts each in front of the previous one: the last added runs first.
    # (Redirects never enter this stack: the Redirector adds the same headers itself.)
    import_limit = (settings.import_max_bytes, import_too_large(settings.import_max_bytes))
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        limits={path: import_limit for path in IMPORT_PATHS},
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    # After CORSMiddleware, so in front of it: /rest/ answers any origin, as Shlink does.
    app.add_middleware(ShlinkCors, routes=shlink_api.route_methods())
    app.add_middleware(InternalErrors)
    app.add_middleware(SecurityHeaders)
    # Outermost: every answer, errors included, gets its request id and log line.
    request_ids = observability.install(app)
    # The redirect path (ShortenerApp.__call__ sends it here, ahead of all the above): the
    # Redirector, wrapped in the same request ids and counted per status for the metrics.
    app.redirector = Redirector(templates)
    observer = RedirectObserver(app.redirector, request_ids, log_redirects=settings.log_redirects)
    app.answer_redirect = observer.answer
    app.redirect_statuses = observer.statuses
    return app


app = create_app()
