"""The app factory: the lifespan owns every client and background task; `app` is built here."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from shortener import ops
from shortener.admin.api import router as admin_router
from shortener.aio import cancel_and_wait, each
from shortener.apikeys.api import router as apikeys_router
from shortener.auth.api import router as auth_router
from shortener.blocklist.api import router as blocklist_router
from shortener.cache import LinkCache
from shortener.clicks.client_ip import TrustedProxies
from shortener.clicks.flusher import Flusher
from shortener.clicks.geo import CountryLookup
from shortener.clicks.queue import ClickQueue, LocalQueue, RedisStreamQueue
from shortener.clicks.recorder import ClickRecorder
from shortener.clicks.salts import SaltProvider
from shortener.clicks.writer_thread import click_writer
from shortener.config import Settings, load_settings
from shortener.db import make_engine, make_sessionmaker
from shortener.errors import install_error_handlers
from shortener.links.api import router as links_router
from shortener.links.service import LinkContext
from shortener.live.api import router as live_router
from shortener.live.broker import LiveBroker
from shortener.live.feed import LiveFeed
from shortener.middleware import BodySizeLimit, InternalErrors, SecurityHeaders
from shortener.observability import wiring as observability
from shortener.observability.access import RedirectApp, RedirectObserver
from shortener.openapi import errors
from shortener.qr.api import router as qr_router
from shortener.ratelimit import RateLimiter, rules_from
from shortener.redirect.entry import Redirector, redirect_key
from shortener.redisconn import CircuitBreaker, make_redis
from shortener.stats.api import router as stats_router
from shortener.stats.cache import StatsCache
from shortener.templating import make_templates
from shortener.transfer.api import router as transfer_router
from shortener.web import install_dashboard
from shortener.webhooks.api import router as webhooks_router
from shortener.webhooks.dispatcher import WebhookDispatcher

log = logging.getLogger(__name__)


class ShortenerApp(FastAPI):
    """FastAPI, with the redirect path answered before FastAPI's own stack is entered."""

    redirector: Redirector
    answer_redirect: RedirectApp  # the redirector, with request ids and status counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = redirect_key(scope)
        if key is not None:
            await self.answer_redirect(scope, receive, send, key)
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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        _ = settings.signing_key  # fail (or warn about the dev key) at start, not on first login
        state.engine = make_engine(settings.database_url)
        state.sessionmaker = make_sessionmaker(state.engine)
        state.redis = make_redis(settings)
        # One breaker for every Redis user in this worker: one failure, and all skip Redis.
        state.redis_breaker = CircuitBreaker(settings.redis_breaker_seconds)
        state.link_cache = LinkCache(
            state.engine,
            state.redis,
            prefix=settings.redis_prefix,
            size=settings.link_cache_size,
            max_bytes=settings.link_cache_max_bytes,
            key_filter=settings.link_key_filter,
            ttl=settings.link_cache_ttl,
            negative_ttl=settings.negative_cache_ttl,
            redis_ttl=settings.redis_link_ttl,
            breaker=state.redis_breaker,
        )
        queue: ClickQueue = (
            RedisStreamQueue(
                state.redis,
                prefix=settings.redis_prefix,
                claim_idle_ms=settings.click_claim_idle_ms,
                breaker=state.redis_breaker,
                read_stream=settings.click_flusher,
            )
            if state.redis is not None
            else LocalQueue()
        )
        state.click_queue = queue
        # Loading the GeoIP database takes a moment (once per process): not on the loop.
        state.countries = await asyncio.to_thread(CountryLookup, settings.geoip_database)
        state.trusted_proxies = TrustedProxies.parse(settings.trusted_proxies)
        state.click_recorder = ClickRecorder(
            queue,
            salts=SaltProvider(state.sessionmaker),
            countries=state.countries,
            trusted_proxies=state.trusted_proxies,
        )
        state.stats_cache = StatsCache(settings.stats_cache_size)
        state.webhooks = WebhookDispatcher(
            state.sessionmaker,
            base_url=settings.base_url,
            allow_private=settings.allow_private_webhooks,
            timeout=settings.webhook_timeout,
            max_attempts=settings.webhook_max_attempts,
            retry_base=settings.webhook_retry_base,
            poll_interval=settings.webhook_poll_interval,
        )
        state.click_writer = click_writer(settings.database_url)
        state.live = LiveBroker(
            state.redis, prefix=settings.redis_prefix, breaker=state.redis_breaker
        )
        state.flusher = Flusher(
            queue,
            state.sessionmaker,
            interval=settings.click_flush_interval,
            batch_size=settings.click_batch_size,
            retention_days=settings.click_retention_days,
            on_written=each(
                state.webhooks.clicks_written,
                LiveFeed(state.live, state.sessionmaker).clicks_written,
            ),
            max_failures=settings.click_batch_max_failures,
            writer=state.click_writer,
        )
        state.rate_limiter = RateLimiter(
            state.redis,
            state.redis_breaker,
            prefix=settings.redis_prefix,
            enabled=settings.rate_limits_enabled,
            rules=rules_from(settings),
        )
        state.link_context = LinkContext(
            base_url=settings.base_url,
            own_host=settings.base_host,
            cache=state.link_cache,
            events=state.webhooks,
            blocked_domains=frozenset(settings.blocked_domains),
        )
        # Subscribed to the other workers' changes, and every key in the filter, before the
        # first request (a million keys: a few seconds).
        await state.link_cache.start()
        metrics = observability.start(state, settings)  # before the first batch is written
        flusher = asyncio.create_task(state.flusher.run(), name="click-flusher")
        listener = asyncio.create_task(state.link_cache.listen(), name="link-invalidation")
        pump = asyncio.create_task(state.click_recorder.run(), name="click-pump")
        state.webhooks.start()
        live = asyncio.create_task(state.live.run(), name="live-feed")
        if settings.environment != "test":  # tests build hundreds of apps in one process
            _quiet_garbage_collector()
        try:
            yield
        finally:
            state.live.close()  # ends the open event streams; run() returns within a poll
            await asyncio.wait([live], timeout=5)
            await cancel_and_wait(live)
            state.link_cache.close()  # listen() returns within a poll; cancel only if stuck
            await asyncio.wait([listener], timeout=5)
            await cancel_and_wait(listener)
            await cancel_and_wait(pump)
            await state.click_recorder.ship()  # the clicks noted since the pump's last turn
            # The server has stopped taking requests: let the flusher end the batch in flight
            # (cancelling could cut it half-written), then write what is still queued.
            await state.flusher.stop(running=flusher)
            await state.click_writer.close()
            # After the flusher: its last batches may still announce link.clicked.
            await state.webhooks.aclose()
            await observability.stop(state, metrics)
            if state.redis is not None:
                await state.redis.aclose()
            await state.engine.dispose()

    app = ShortenerApp(
        title="shortener",
        summary="Short links with private, exact click analytics",
        version="0.1.0",
        lifespan=lifespan,
        # Any route can meet these: a body too large or unparsable, the database away.
        responses=errors(400, 413, 503),
    )
    app.state.settings = settings
    app.state.templates = make_templates()
    install_error_handlers(app)
    app.include_router(ops.router)
    app.include_router(auth_router)
    app.include_router(apikeys_router)
    # Before links_router: its /api/links/{key} would otherwise answer /api/links/export.
    app.include_router(transfer_router)
    app.include_router(links_router)
    app.include_router(stats_router)
    app.include_router(qr_router)
    install_dashboard(app)
    app.include_router(live_router)
    app.include_router(webhooks_router)
    app.include_router(admin_router)
    app.include_router(blocklist_router)
    # add_middleware puts each in front of the previous one: the last added runs first.
    # (Redirects never enter this stack: the Redirector adds the same headers itself.)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(InternalErrors)
    app.add_middleware(SecurityHeaders)
    # Outermost: every answer, errors included, gets its request id and log line.
    request_ids = observability.install(app)
    # The redirect path (ShortenerApp.__call__ sends it here, ahead of all the above): the
    # Redirector, wrapped in the same request ids and counted per status for the metrics.
    app.redirector = Redirector(app.state)
    observer = RedirectObserver(app.redirector, request_ids, log_redirects=settings.log_redirects)
    app.state.redirect_observer = observer
    app.answer_redirect = observer.answer
    return app


app = create_app()
