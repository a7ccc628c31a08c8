"""The Runtime: every long-lived object of a worker, typed, opened and closed in one place.

The app's lifespan opens it (`open_runtime`) and routes reach it through `runtime_of(request)`
or the `RuntimeDep` dependency; `shortener flush` opens it without building the HTTP app.
Opening builds the clients (database, Redis), the link cache, the click queue, recorder and
flusher, the webhook dispatcher, the live-feed broker and the rate limiter, then starts their
background tasks; closing stops them in the order that loses no click: the recorder ships
what it noted, the flusher writes what is queued, then the clients close.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from shortener.aio import cancel_and_wait, each
from shortener.auth.oidc import SingleSignOn
from shortener.cache import LinkCache
from shortener.clicks.client_ip import TrustedProxies
from shortener.clicks.durability import log_durability
from shortener.clicks.flusher import Flusher
from shortener.clicks.geo import CountryLookup
from shortener.clicks.queue import ClickQueue, LocalQueue, RedisStreamQueue
from shortener.clicks.recorder import ClickRecorder
from shortener.clicks.salts import SaltProvider
from shortener.clicks.writer_thread import ClickWriter, click_writer
from shortener.config import Settings
from shortener.db import make_engine, make_read_engine, make_sessionmaker
from shortener.domains.hosts import Hosts
from shortener.domains.proofs import DomainProofs
from shortener.links.context import LinkContext, make_hosts, make_link_context
from shortener.live.broker import LiveBroker
from shortener.live.feed import LiveFeed
from shortener.mail import Mailer
from shortener.observability.metrics import Metrics
from shortener.ratelimit import RateLimiter, rules_from
from shortener.redisconn import CircuitBreaker, RedisClient, make_redis
from shortener.stats.cache import StatsCache
from shortener.templating import make_templates
from shortener.webhooks.dispatcher import WebhookDispatcher


@dataclass(eq=False)
class Runtime:
    settings: Settings
    templates: Jinja2Templates
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Statistics and exports (DATABASE_READ_URL); without it, the two above themselves.
    read_engine: AsyncEngine
    read_sessionmaker: async_sessionmaker[AsyncSession]
    redis: RedisClient | None
    # One breaker for every Redis user in this worker: one failure, and all skip Redis.
    redis_breaker: CircuitBreaker
    link_context: LinkContext
    click_queue: ClickQueue
    countries: CountryLookup
    trusted_proxies: TrustedProxies
    click_recorder: ClickRecorder
    click_writer: ClickWriter
    flusher: Flusher
    stats_cache: StatsCache
    webhooks: WebhookDispatcher
    live: LiveBroker
    rate_limiter: RateLimiter
    hosts: Hosts
    domain_proofs: DomainProofs
    mailer: Mailer
    metrics: Metrics | None = None  # while METRICS_TOKEN is set
    sso: SingleSignOn | None = None  # while OIDC_ISSUER and OIDC_CLIENT_ID are set
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict, repr=False)

    @property
    def separate_reads(self) -> bool:
        """DATABASE_READ_URL is set: statistics and exports read a database of their own."""
        return self.read_engine is not self.engine

    @property
    def link_cache(self) -> LinkCache:
        return self.link_context.cache


async def _build(settings: Settings, templates: Jinja2Templates | None) -> Runtime:
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    read_engine = make_read_engine(engine, settings.database_read_url)
    read_sessionmaker = sessionmaker if read_engine is engine else make_sessionmaker(read_engine)
    redis = make_redis(settings)
    breaker = CircuitBreaker(settings.redis_breaker_seconds)
    queue: ClickQueue = (
        RedisStreamQueue(
            redis,
            prefix=settings.redis_prefix,
            claim_idle_ms=settings.click_claim_idle_ms,
            breaker=breaker,
            read_stream=settings.click_flusher,
        )
        if redis is not None
        else LocalQueue()
    )
    # Loading the GeoIP database takes a moment (once per process): not on the loop.
    countries = await asyncio.to_thread(CountryLookup, settings.geoip_database)
    trusted_proxies = TrustedProxies.parse(settings.trusted_proxies)
    webhooks = WebhookDispatcher(
        sessionmaker,
        base_url=settings.base_url,
        allow_private=settings.allow_private_webhooks,
        timeout=settings.webhook_timeout,
        max_attempts=settings.webhook_max_attempts,
        retry_base=settings.webhook_retry_base,
        poll_interval=settings.webhook_poll_interval,
    )
    writer = click_writer(
        settings.database_url, orphans_per_minute=settings.orphan_visits_per_minute
    )
    live = LiveBroker(redis, prefix=settings.redis_prefix, breaker=breaker)
    hosts = make_hosts(settings, engine, trusted_proxies)
    link_context = make_link_context(
        settings, engine, redis, breaker=breaker, events=webhooks, hosts=hosts
    )
    # Open live feeds check again whether their viewer may still see a link that changed.
    link_context.cache.on_evict.append(live.link_changed)
    link_context.cache.on_evict.append(hosts.changed)
    return Runtime(
        settings=settings,
        templates=templates or make_templates(),
        engine=engine,
        sessionmaker=sessionmaker,
        read_engine=read_engine,
        read_sessionmaker=read_sessionmaker,
        redis=redis,
        redis_breaker=breaker,
        link_context=link_context,
        click_queue=queue,
        countries=countries,
        trusted_proxies=trusted_proxies,
        click_recorder=ClickRecorder(
            queue,
            salts=SaltProvider(sessionmaker),
            countries=countries,
            trusted_proxies=trusted_proxies,
            orphans_per_minute=settings.orphan_visits_per_minute,
        ),
        click_writer=writer,
        flusher=Flusher(
            queue,
            sessionmaker,
            interval=settings.click_flush_interval,
            batch_size=settings.click_batch_size,
            retention_days=settings.click_retention_days,
            audit_retention_days=settings.audit_retention_days,
            on_written=each(webhooks.clicks_written, LiveFeed(live, sessionmaker).clicks_written),
            max_failures=settings.click_batch_max_failures,
            writer=writer,
            orphans_per_minute=settings.orphan_visits_per_minute,
        ),
        stats_cache=StatsCache(settings.stats_cache_size),
        webhooks=webhooks,
        live=live,
        rate_limiter=RateLimiter(
            redis,
            breaker,
            prefix=settings.redis_prefix,
            enabled=settings.rate_limits_enabled,
            rules=rules_from(settings),
        ),
        hosts=hosts,
        domain_proofs=DomainProofs(dns_servers=settings.domain_dns_servers),
        mailer=Mailer(
            settings.smtp_url.get_secret_value() if settings.smtp_url else None,
            sender=settings.mail_sender,
            timeout=settings.smtp_timeout,
        ),
        sso=SingleSignOn.from_settings(settings),
    )


def _start_metrics(runtime: Runtime, redirect_statuses: Mapping[int, int]) -> None:
    metrics = Metrics(
        statuses=redirect_statuses,
        cache=runtime.link_cache,
        recorder=runtime.click_recorder,
        queue=runtime.click_queue,
        flusher=runtime.flusher,
        breaker=runtime.redis_breaker,
    )
    metrics.watch_engine(runtime.engine.sync_engine, "app")
    if runtime.separate_reads:
        metrics.watch_engine(runtime.read_engine.sync_engine, "read")
    runtime.click_writer.watch_engine(lambda engine: metrics.watch_engine(engine, "click_writer"))
    runtime.flusher.on_batch = metrics.observe_batch
    runtime.metrics = metrics
    runtime._tasks["metrics"] = asyncio.create_task(metrics.run(), name="metrics-sync")


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    templates: Jinja2Templates | None = None,
    redirect_statuses: Mapping[int, int] | None = None,
) -> AsyncIterator[Runtime]:
    """Build the runtime, start its background work, and stop it all on the way out.

    `redirect_statuses` (the redirect path's answers by status) feed /metrics when
    METRICS_TOKEN is set; the metrics are made before the first click batch is written.
    """
    _ = settings.signing_key  # fail (or warn about the dev key) at start, not on first login
    runtime = await _build(settings, templates)
    if settings.metrics_token is not None:
        _start_metrics(runtime, {} if redirect_statuses is None else redirect_statuses)
    # Subscribed to the other workers' changes, and every key in the filter, before the first
    # request (a million keys: a few seconds).
    await runtime.link_cache.start()
    if runtime.redis is not None:
        await log_durability(runtime.redis)
    await runtime.hosts.refresh()
    tasks = runtime._tasks
    tasks["flusher"] = asyncio.create_task(runtime.flusher.run(), name="click-flusher")
    tasks["listener"] = asyncio.create_task(runtime.link_cache.listen(), name="link-invalidation")
    tasks["pump"] = asyncio.create_task(runtime.click_recorder.run(), name="click-pump")
    runtime.webhooks.start()
    tasks["live"] = asyncio.create_task(runtime.live.run(), name="live-feed")
    try:
        yield runtime
    finally:
        await _close(runtime)


async def _close(runtime: Runtime) -> None:
    tasks = runtime._tasks
    runtime.live.close()  # ends the open event streams; run() returns within a poll
    await asyncio.wait([tasks["live"]], timeout=5)
    await cancel_and_wait(tasks["live"])
    runtime.link_cache.close()  # listen() returns within a poll; cancel only if stuck
    await asyncio.wait([tasks["listener"]], timeout=5)
    await cancel_and_wait(tasks["listener"])
    await cancel_and_wait(tasks["pump"])
    await runtime.click_recorder.ship(all_tallies=True)  # noted since the pump's last turn
    # No more requests come: let the flusher end the batch in flight (cancelling could cut it
    # half-written), then write what is still queued.
    await runtime.flusher.stop(running=tasks["flusher"])
    await runtime.click_writer.close()
    # After the flusher: its last batches may still announce link.clicked.
    await runtime.webhooks.aclose()
    await runtime.mailer.aclose()
    if "metrics" in tasks:
        await cancel_and_wait(tasks["metrics"])
    if runtime.metrics is not None:
        runtime.metrics.close()
    if runtime.redis is not None:
        await runtime.redis.aclose()
    await runtime.engine.dispose()
    if runtime.separate_reads:
        await runtime.read_engine.dispose()


def runtime_of(connection: HTTPConnection) -> Runtime:
    """The runtime of the app serving `connection` (a request or a websocket)."""
    runtime: Any = connection.app.runtime
    return runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
