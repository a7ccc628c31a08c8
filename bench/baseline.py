"""The limit: a bare ASGI app that looks a key up in a dict and answers 302 with Location.

Served by the same uvicorn (uvloop + httptools) as the service, it is the yardstick every
redirect figure is divided by.
"""

import os

TARGET = b"https://example.com/landing"
# The scale benchmark (bench/scale_bench.py) gives the bare app the same keys as the service.
LINKS = {"bench": TARGET, **{f"k{i}": TARGET for i in range(int(os.environ.get("BENCH_LINKS", 0)))}}


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    location = LINKS.get(scope["path"][1:])
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
