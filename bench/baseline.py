"""The limit: a bare ASGI app that looks a key up in a dict and answers 302 with Location.

Served by the same uvicorn (uvloop + httptools) as the service, it is the yardstick every
redirect figure is divided by.
"""

LINKS = {"bench": b"https://example.com/landing"}


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
