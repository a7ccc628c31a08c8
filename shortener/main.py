"""The app factory: the lifespan owns every client and background task; `app` is built here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from shortener import ops
from shortener.auth.api import router as auth_router
from shortener.blocklist.api import router as blocklist_router
from shortener.cache import LinkCache
from shortener.clicks.flusher import Flusher
from shortener.clicks.queue import ClickQueue, LocalQueue, RedisStreamQueue
from shortener.clicks.recorder import ClickRecorder
from shortener.config import Settings, load_settings
from shortener.db import make_engine, make_sessionmaker
from shortener.errors import install_error_handlers
from shortener.links.api import router as links_router
from shortener.links.service import LinkContext
from shortener.middleware import BodySizeLimit, InternalErrors, SecurityHeaders
from shortener.openapi import errors
from shortener.ratelimit import RateLimiter, rules_from
from shortener.redirect import RedirectShortcut
from shortener.redisconn import CircuitBreaker, make_redis
from shortener.templating import make_templates

log = logging.getLogger(__name__)


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
            state.sessionmaker,
            state.redis,
            prefix=settings.redis_prefix,
            size=settings.link_cache_size,
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
            )
            if state.redis is not None
            else LocalQueue()
        )
        state.click_queue = queue
        state.click_recorder = ClickRecorder(queue)
        state.flusher = Flusher(
            queue,
            state.sessionmaker,
            interval=settings.click_flush_interval,
            batch_size=settings.click_batch_size,
            max_failures=settings.click_batch_max_failures,
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
            blocked_domains=frozenset(settings.blocked_domains),
        )
        state.flusher.start()
        tasks = [asyncio.create_task(state.link_cache.listen(), name="link-invalidation")]
        try:
            yield
        finally:
            state.link_cache.close()
            _, stuck = await asyncio.wait(tasks, timeout=5)
            for task in stuck:
                task.cancel()
            # The server has stopped taking requests: let the flusher finish the batch in
            # hand (cancelling it could cut a write short), then write what is still queued.
            await state.flusher.stop()
            if state.redis is not None:
                await state.redis.aclose()
            await state.engine.dispose()

    app = FastAPI(
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
    app.include_router(links_router)
    app.include_router(blocklist_router)
    # add_middleware puts each in front of the previous one: the last added runs first.
    app.add_middleware(RedirectShortcut, state=app.state)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(InternalErrors)
    app.add_middleware(SecurityHeaders)
    return app


app = create_app()
