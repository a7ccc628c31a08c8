"""The raw IP address is never written anywhere: database, Redis (the click stream too), logs."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from shortener.main import create_app
from shortener.models import Click, metadata
from tests.clicks.traffic import SAFARI_IPHONE, visit
from tests.conftest import BASE_URL
from tests.factories import make_link, make_user

ADDRESSES = ["81.2.69.142", "2a00:1450:4001:82a::200e"]


async def redis_dump(url: str, prefix: str) -> bytes:
    """Every key and value under the test's prefix, whatever its type, as one blob."""
    redis = Redis.from_url(url)
    blob = b""
    queued = 0
    try:
        async for key in redis.scan_iter(match=f"{prefix}*"):
            kind = (await redis.type(key)).decode()
            blob += key
            if kind == "string":
                blob += await redis.get(key) or b""
            elif kind == "hash":
                blob += repr(await redis.hgetall(key)).encode()
            elif kind == "stream":
                stream = await redis.xrange(key)
                # Clicks travel packed, several to an entry; `n` says how many.
                queued += sum(int(fields.get(b"n", 1)) for _, fields in stream)
                blob += repr(stream).encode()
            elif kind == "list":
                blob += repr(await redis.lrange(key, 0, -1)).encode()
            elif kind in ("set", "zset"):
                blob += repr(await redis.execute_command("DUMP", key)).encode()
    finally:
        await redis.aclose()
    assert queued >= len(ADDRESSES), "the queued clicks should be in the stream"
    return blob


async def database_dump(app, url: str) -> bytes:  # type: ignore[no-untyped-def]
    if make_url(url).get_backend_name() == "sqlite":
        db = Path(make_url(url).database or "")
        return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    blob = ""
    async with app.runtime.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = await conn.execute(text(f'SELECT t::text FROM "{table.name}" t'))
            blob += "".join(rows.scalars())
    return blob.encode()


async def test_raw_ip_is_never_stored(make_settings, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    # A long flush interval keeps the clicks in the queue (the Redis stream) until drained.
    settings = make_settings(click_flush_interval=3600)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            headers = await make_user(client)
            await make_link(client, headers, alias="private")
            for ip in ADDRESSES:
                await visit(client, "private", ip=ip, ua=SAFARI_IPHONE)
            await app.runtime.click_recorder.ship()  # into the queue (the stream) now
            if settings.redis_url:
                blob = await redis_dump(settings.redis_url, settings.redis_prefix)
                for ip in ADDRESSES:
                    assert ip.encode() not in blob
            await app.runtime.click_recorder.ship()  # what the pump has not queued yet
            await app.runtime.flusher.drain()
            async with app.runtime.sessionmaker() as session:
                clicks = (await session.execute(select(Click))).scalars().all()
            # The addresses were used (countries, two visitors)...
            assert sorted(c.country or "" for c in clicks) == ["DE", "GB"]
            assert len({c.visitor_hash for c in clicks}) == 2
            # ...and kept nowhere.
            blob = await database_dump(app, settings.database_url)
            for ip in ADDRESSES:
                assert ip.encode() not in blob
    for ip in ADDRESSES:
        assert ip not in caplog.text
