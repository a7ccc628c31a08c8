"""GET /metrics: who may read it, and its values moving as traffic flows (both storage modes)."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import eventually, make_link, make_user, running
from tests.observability.helpers import METRICS_TOKEN, SCRAPE, scrape
from tests.processes import RedisServer, TcpProxy


async def test_metrics_answer_404_while_no_token_is_set(client: httpx.AsyncClient) -> None:
    for headers in ({}, SCRAPE, {"Authorization": "Bearer "}):
        r = await client.get("/metrics", headers=headers)
        assert r.status_code == 404
        assert r.json() == {"detail": "Not Found"}  # as if there were no such route
        assert r.headers["x-request-id"]


async def test_metrics_need_the_bearer_token(make_settings) -> None:  # type: ignore[no-untyped-def]
    async with running(make_settings(metrics_token=METRICS_TOKEN)) as (_, client):
        user = await make_user(client)  # a user's bearer token is not the metrics token
        for headers, status in [
            ({}, 401),
            ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
            ({"Authorization": "Bearer"}, 401),
            ({"Authorization": "Bearer "}, 401),
            ({"Authorization": f"Bearer {METRICS_TOKEN} extra"}, 401),
            ({"Authorization": METRICS_TOKEN}, 401),
            ({"Authorization": "Bearer wrong-token"}, 403),
            ({"Authorization": f"Bearer {METRICS_TOKEN}x"}, 403),
            ({"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"}, 403),
            (user, 403),
            ({"Authorization": f"bearer {METRICS_TOKEN}"}, 200),
            (SCRAPE, 200),
        ]:
            r = await client.get("/metrics", headers=headers)
            assert r.status_code == status, (headers, r.text)
            if status == 401:
                assert r.headers["www-authenticate"] == "Bearer"
        assert "# TYPE shortener_redirects_total counter" in r.text


async def test_values_move_as_traffic_flows(make_settings, mode: str) -> None:  # type: ignore[no-untyped-def]
    # Clicks wait in the queue until the test drains it: pending and lag can be seen. Unknown
    # keys stay known as unknown (in Redis too) for the whole test.
    settings = make_settings(
        metrics_token=METRICS_TOKEN, click_flush_interval=3600, negative_cache_ttl=120
    )
    async with running(settings) as (app, client):
        headers = await make_user(client)
        await make_link(client, headers, alias="hot")
        await make_link(client, headers, alias="old")
        r = await client.patch("/api/links/old", json={"is_active": False}, headers=headers)
        assert r.status_code == 200
        before = await scrape(client)
        assert before.value("shortener_redirects_total") == 0

        for _ in range(5):
            assert (await client.get("/hot")).status_code == 302
        assert (await client.get("/old")).status_code == 410
        for _ in range(2):
            assert (await client.get("/unknown")).status_code == 404
        await client.get("/api/links/hot", headers=headers)
        await client.get("/api/links/nope", headers=headers)

        async def queued() -> bool:  # the click pump hands them over within milliseconds
            return (await scrape(client)).value("shortener_clicks_queued_total") == 5

        await eventually(queued)
        m = await scrape(client)
        assert m.value("shortener_redirects_total", status="302") == 5
        assert m.value("shortener_redirects_total", status="410") == 1
        assert m.value("shortener_redirects_total", status="404") == 2
        # hot: database once, then this worker's memory; old: database once; unknown: the
        # filter of known keys, both times (no look-up at all).
        assert m.value("shortener_link_cache_hits_total", layer="database") == 2
        assert m.value("shortener_link_cache_hits_total", layer="local") == 4
        assert m.value("shortener_link_cache_hits_total", layer="filter") == 2
        assert m.value("shortener_link_cache_hits_total", layer="redis") == 0
        assert m.value("shortener_link_cache_misses_total") == 0
        pending = (
            "shortener_click_stream_pending" if mode == "postgres" else "shortener_clicks_pending"
        )
        assert m.value(pending) == 5
        assert m.value("shortener_click_queue_lag_seconds") > 0
        assert m.value("shortener_clicks_flushed_total") == 0
        # API latency by route template and status, never by raw path.
        seconds = "shortener_http_request_duration_seconds_count"
        assert m.value(seconds, route="/api/links/{key}", method="GET", status="200") == 1
        assert m.value(seconds, route="/api/links/{key}", method="GET", status="404") == 1
        assert m.value(seconds, route="/api/links", method="POST", status="201") == 2
        assert not [k for k in m if dict(k[1]).get("route", "").endswith(("/hot", "/nope"))]

        await app.runtime.flusher.drain()
        m = await scrape(client)
        assert m.value("shortener_clicks_flushed_total") == 5
        assert m.value("shortener_clicks_pending") == 0
        assert m.value("shortener_click_stream_pending") == 0
        assert m.value("shortener_click_queue_lag_seconds") == 0
        assert m.value("shortener_click_flush_batch_size_count") >= 1
        assert m.value("shortener_click_flush_batch_size_sum") == 5
        assert m.value("shortener_click_flush_duration_seconds_count") >= 1
        assert m.value("shortener_database_errors_total") == 0
        assert m.value("shortener_redis_errors_total") == 0

        if mode == "postgres":
            # Another worker (a second app on the same Redis) learns from Redis that a key is
            # unknown. Unknown keys reach Redis only as false positives of the key filter:
            # made here by hand. (A link just created or changed is read from the database
            # for a few seconds: see cache.CHANGED_TTL.)
            app.runtime.link_cache.keys.current.add("phantom")
            assert (await client.get("/phantom")).status_code == 404  # database, then Redis
            async with running(settings) as (other_app, other):
                assert (await other.get("/unknown")).status_code == 404
                other_app.runtime.link_cache.keys.current.add("phantom")
                assert (await other.get("/phantom")).status_code == 404
                m = await scrape(other)
                assert m.value("shortener_link_cache_hits_total", layer="filter") == 1
                assert m.value("shortener_link_cache_hits_total", layer="redis") == 1


@pytest.mark.parametrize("mode", ["postgres"])
async def test_redis_errors_are_counted(make_settings) -> None:  # type: ignore[no-untyped-def]
    redis = RedisServer()
    redis.start()
    try:
        settings = make_settings(metrics_token=METRICS_TOKEN, redis_url=redis.url)
        async with running(settings) as (app, client):
            assert (await scrape(client)).value("shortener_redis_errors_total") == 0
            # A key that exists and is not in this worker's memory: its look-up asks Redis.
            # (An unknown key would be answered by the key filter without asking anyone.)
            await make_link(client, await make_user(client), alias="still-there")
            app.runtime.link_cache.evict_local("still-there")
            redis.kill()
            r = await client.get("/still-there")  # Redis is gone: answered from the database
            assert r.status_code == 302
            assert (await scrape(client)).value("shortener_redis_errors_total") >= 1
    finally:
        redis.close()


@pytest.mark.parametrize("mode", ["postgres"])
async def test_database_errors_are_counted(make_settings, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.engine import make_url

    target = make_url(postgres_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    try:
        settings = make_settings(metrics_token=METRICS_TOKEN, database_url=url)
        async with running(settings) as (_, client):
            headers = await make_user(client)
            await make_link(client, headers, alias="outage")
            assert (await client.get("/outage")).status_code == 302  # cached from now on
            m = await scrape(client)
            assert m.value("shortener_database_errors_total") == 0

            await proxy.stop()
            r = await client.get("/api/links", headers=headers)
            assert r.status_code == 503
            assert (await client.get("/outage")).status_code == 302  # a click to write

            async def counted() -> bool:
                m = await scrape(client)
                return (
                    m.value("shortener_database_errors_total", source="app") >= 1
                    and m.value("shortener_database_errors_total", source="click_writer") >= 1
                )

            await eventually(counted)
            await proxy.start()
    finally:
        await proxy.stop()
