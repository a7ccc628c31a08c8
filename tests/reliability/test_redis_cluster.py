"""`shortener serve --workers 2` on a Redis Cluster (REDIS_CLUSTER=true) of three masters with a
replica each: links cached across the slots, changes followed by both workers before the API
answers, a rate limit shared by the workers, and every click counted through a manual failover
of the master holding the click stream, and within the stated bound through a SIGKILL of it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ClusterDownError
from redis.exceptions import ConnectionError as RedisConnectionError

from shortener import cache as cache_module
from shortener.config import ConfigError, Settings
from shortener.live.broker import LiveBroker, sse_frame
from shortener.main import create_app
from shortener.rediskeys import RedisKeys
from tests.factories import eventually, make_link, make_user
from tests.processes import ServeProcess, server_env
from tests.redis_cluster import RedisClusterServers
from tests.reliability.test_restarts import _clicks, _create, _locations, _signed_in

# The cluster tests bring their own Redis; the database is the run's PostgreSQL.
postgres = pytest.mark.parametrize("mode", ["postgres"])

LINKS = 24  # the rate limit below allows exactly these


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    servers = RedisClusterServers(tmp_path / "cluster")
    try:
        servers.start()
        yield servers
    finally:
        servers.close()


class Traffic:
    """Redirects to `keys` on fresh connections (spread over both workers) until stopped;
    counts the ones answered with a redirect, per key."""

    def __init__(self, base: str, keys: list[str]) -> None:
        self.base, self.keys = base, keys
        self.answered: Counter[str] = Counter()
        self.other: Counter[int] = Counter()
        self._stop = asyncio.Event()

    async def run(self, concurrency: int = 8) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as client:

            async def visitor(n: int) -> None:
                i = n
                while not self._stop.is_set():
                    key = self.keys[i % len(self.keys)]
                    i += concurrency
                    r = await client.get(f"/{key}", headers={"Connection": "close"})
                    if r.status_code == 302:
                        self.answered[key] += 1
                    else:
                        self.other[r.status_code] += 1

            await asyncio.gather(*(visitor(n) for n in range(concurrency)))

    async def until(self, more: int) -> None:
        target = self.answered.total() + more

        async def enough() -> bool:
            return self.answered.total() >= target

        await eventually(enough, timeout=60)

    def stop(self) -> None:
        self._stop.set()


async def _counted(base: str, headers: dict[str, str], keys: list[str]) -> Counter[str]:
    return Counter({key: await _clicks(base, headers, key) for key in keys})


@postgres
async def test_the_service_runs_on_a_redis_cluster_through_failovers(
    make_settings, serve: Callable[..., ServeProcess], cluster: RedisClusterServers
) -> None:
    settings = make_settings(redis_url=cluster.url)
    keys_of = RedisKeys(settings.redis_prefix)
    env = server_env(
        settings,
        REDIS_CLUSTER="true",
        LINK_CACHE_TTL="300",
        REDIS_BREAKER_SECONDS="0.5",
        RATE_LIMITS_ENABLED="true",
        RATE_LIMIT_LINKS_USER=f"{LINKS}/1h",
        RATE_LIMIT_LOGIN_IP="1000/1m",
        RATE_LIMIT_REGISTER_IP="1000/1m",
        RATE_LIMIT_LINKS_IP="1000/1h",
    )
    server = await serve(env, workers=2)
    headers = await _signed_in(server.url)
    keys = [f"cl{i:02d}" for i in range(LINKS)]
    # Each creation on a fresh connection: both workers take from the one budget in Redis.
    for key in keys:
        await _create(server.url, headers, url=f"https://example.com/{key}", alias=key)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        refused = await client.post(
            "/api/links", json={"url": "https://example.com/x"}, headers=headers
        )
    assert refused.status_code == 429, refused.text

    redis = RedisCluster.from_url(cluster.url)
    try:
        # Redirects of every link, many at once: the workers' batched look-ups span slots.
        traffic = Traffic(server.url, keys)
        runner = asyncio.create_task(traffic.run(concurrency=16))
        await traffic.until(3 * LINKS)

        # A manual failover of the master holding the click stream, under load: nothing lost.
        stream_master = cluster.master_of(keys_of.click_stream)
        await traffic.until(50)
        promoted = await asyncio.to_thread(cluster.failover, stream_master)
        assert cluster.master_of(keys_of.click_stream).port == promoted.port
        await traffic.until(100)
        traffic.stop()
        await runner
        assert traffic.other == Counter(), server.events()

        async def exact() -> bool:
            counted = await _counted(server.url, headers, keys)
            assert all(counted[k] <= traffic.answered[k] for k in keys), (counted, traffic)
            return counted == traffic.answered

        await eventually(exact, timeout=30)

        # Both workers follow a change before the API call returns (acknowledged over pub/sub,
        # counted over every node).
        assert await _locations(server.url, "/cl00", 40) == Counter(
            {"https://example.com/cl00": 40}
        )
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            r = await client.patch(
                "/api/links/cl00", json={"url": "https://example.com/after"}, headers=headers
            )
            assert r.status_code == 200, r.text
        assert await _locations(server.url, "/cl00", 40) == Counter(
            {"https://example.com/after": 40}
        )
        assert "did not acknowledge" not in server.events(), server.events()
        # SIGKILL of the master now holding the stream: its replica is elected within about
        # two node timeouts; meanwhile clicks wait in the workers' local buffers.
        hot = keys[1:5]
        before = await _counted(server.url, headers, hot)  # exact, as checked above
        traffic = Traffic(server.url, hot)
        runner = asyncio.create_task(traffic.run())
        await traffic.until(50)
        dying = cluster.master_of(keys_of.click_stream)
        dying.kill()
        await traffic.until(100)
        await eventually(lambda: asyncio.to_thread(cluster.settled), timeout=30)
        await traffic.until(100)
        traffic.stop()
        await runner
        assert traffic.other == Counter(), server.events()
        expected = before + traffic.answered

        async def drained() -> bool:
            # The stream is empty and no entry awaits acknowledgement: all that will be
            # counted has been.
            # This test's own client may still hold a connection to the killed master, or ask
            # a node that has not yet heard of the election: an error makes it re-read the
            # cluster's slots, so it is "not yet", not a failure.
            try:
                summary = await redis.xpending(keys_of.click_stream, "flushers")
                return int(summary["pending"]) == 0 and await redis.xlen(keys_of.click_stream) == 0
            except (RedisConnectionError, ClusterDownError):
                return False

        await eventually(drained, timeout=60)
        counted = await _counted(server.url, headers, hot)
        lost = expected.total() - counted.total()
        # Replication is asynchronous: what the master acknowledged in its last moments and
        # had not yet sent to the replica dies with it (on a local link, about a millisecond
        # of clicks: one pipeline of each worker at most).
        assert 0 <= lost <= 2 * 100, (lost, expected, counted)
        print(f"SIGKILL of the stream's master: {lost} of {traffic.answered.total()} clicks lost")
    finally:
        await redis.aclose()


def test_redis_cluster_without_a_node_is_refused_with_how_to_fix_it() -> None:
    with pytest.raises(ConfigError, match="REDIS_CLUSTER=true needs REDIS_URL"):
        Settings(environment="test", database_url="sqlite:///x.db", redis_cluster=True)


@postgres
async def test_link_look_ups_span_the_slots_of_every_master(
    make_settings, cluster: RedisClusterServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many links missing at once are read from Redis in one batch although their keys lie
    in the slots of several masters (a single MGET would be refused: CROSSSLOT)."""
    # The "just changed" marker a creation leaves would hide the links from Redis for 10 s.
    monkeypatch.setattr(cache_module, "CHANGED_TTL", 1)
    settings = make_settings(redis_url=cluster.url, redis_cluster=True)
    keys_of = RedisKeys(settings.redis_prefix)
    keys = [f"slot{i:02d}" for i in range(30)]
    assert len({cluster.master_of(keys_of.link(key)).port for key in keys}) == 3
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://short.test") as client:
            headers = await make_user(client)
            for key in keys:
                await make_link(client, headers, alias=key, url=f"https://example.com/{key}")
        cache = app.runtime.link_cache  # type: ignore[attr-defined]
        redis = RedisCluster.from_url(cluster.url)
        try:

            async def markers_gone() -> bool:
                values = await redis.mget_nonatomic([keys_of.link(key) for key in keys])
                return b"!" not in values

            await eventually(markers_gone)
            # Read from the database, written back to Redis (one pipeline over the nodes)...
            for key in keys:
                cache.evict_local(key)
            links = await asyncio.gather(*(cache.get(key) for key in keys))
            assert [link.location for link in links] == [f"https://example.com/{k}" for k in keys]
            # ...and from Redis, all at once, the next time.
            for key in keys:
                cache.evict_local(key)
            before = cache.hits["redis"]
            links = await asyncio.gather(*(cache.get(key) for key in keys))
            assert [link.location for link in links] == [f"https://example.com/{k}" for k in keys]
            assert cache.hits["redis"] - before == len(keys)
        finally:
            await redis.aclose()


async def test_live_feeds_cross_the_cluster(cluster: RedisClusterServers) -> None:
    """One worker watches links whose channels hash to different masters; another, whose
    client asks some other node, sees that they are watched and reaches the watcher."""
    watcher_redis = RedisCluster.from_url(cluster.url)
    publisher_redis = RedisCluster.from_url(f"redis://127.0.0.1:{cluster.nodes[-1].port}/0")
    watcher = LiveBroker(watcher_redis, prefix="live-test:")
    publisher = LiveBroker(publisher_redis, prefix="live-test:")
    names = RedisKeys("live-test:")
    links = [7, 12345, 99]
    assert len({cluster.master_of(names.live(i)).port for i in links}) > 1
    listening = asyncio.create_task(watcher.run())
    try:
        async with watcher.subscription(7) as a, watcher.subscription(12345) as b:
            assert await publisher.watched([*links, 4]) == {7, 12345}
            await publisher.publish(12345, b'{"total_clicks": 1}')
            await publisher.publish(7, b'{"total_clicks": 2}')
            assert await b.wait(10) == [sse_frame(b'{"total_clicks": 1}')]
            assert await a.wait(10) == [sse_frame(b'{"total_clicks": 2}')]
    finally:
        watcher.close()
        await listening
        await watcher_redis.aclose()
        await publisher_redis.aclose()
