"""The limit: a bare ASGI app that looks a key up in a dict and answers 302 with Location.

Served by the same uvicorn (uvloop + httptools) as the service, it is the yardstick every
redirect figure is divided by.

With BENCH_SQLITE (a database file the service made), the app reads each key from that file
instead of the dict: one indexed point read through the sqlite3 module, the least a link cache
miss can cost on the embedded store, and so the ceiling for the service's long tail there
(bench/scale_bench.py prints it as "sqlite floor").
"""

import os
import sqlite3

TARGET = b"https://example.com/landing"
# The scale benchmark (bench/scale_bench.py) gives the bare app the same keys as the service.
LINKS = {"bench": TARGET, **{f"k{i}": TARGET for i in range(int(os.environ.get("BENCH_LINKS", 0)))}}
# What the service's SQLite reader asks (shortener/redirect/lookup.py), for one key.
READ = (
    "SELECT links.url, users.is_active FROM links JOIN users ON users.id = links.owner_id "
    "WHERE links.domain_id IS NULL AND links.key = ?"
)
DATABASE = os.environ.get("BENCH_SQLITE")
CONNECTION = sqlite3.connect(DATABASE, check_same_thread=False) if DATABASE else None


def location_of(key: str) -> bytes | None:
    if CONNECTION is None:
        return LINKS.get(key)
    row = CONNECTION.execute(READ, (key,)).fetchone()
    return row[0].encode() if row is not None and row[1] else None


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    location = location_of(scope["path"][1:])
    if location is None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
    else:
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [(b"location", location), (b"content-length", b"0")],
            }
        )
    await send({"type": "http.response.body", "body": b""})
