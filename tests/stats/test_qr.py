"""`GET /api/links/{key}/qr`: SVG or PNG of the short URL, cacheable, only for the owner."""

from __future__ import annotations

import zlib

from tests.factories import make_link, make_user


async def test_svg_by_default(client) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="qr-svg")
    response = await client.get("/api/links/qr-svg/qr", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.lstrip().startswith("<svg")
    assert "http://short.test/qr-svg" in response.text  # the title names what it encodes
    assert response.headers["cache-control"] == "private, max-age=86400"
    etag = response.headers["etag"]
    again = await client.get("/api/links/qr-svg/qr", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


async def test_png_decodes(client) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="qr-png")
    response = await client.get("/api/links/qr-png/qr?format=png", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    png = response.content
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # Walk the chunks, check every CRC and inflate the image data: a real, whole PNG.
    pos, chunks, idat = 8, [], b""
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        crc = int.from_bytes(png[pos + 8 + length : pos + 12 + length], "big")
        assert zlib.crc32(kind + data) == crc
        chunks.append(kind)
        idat += data if kind == b"IDAT" else b""
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
    width = int.from_bytes(png[16:20], "big")
    assert width >= 21 * 8  # at least a version-1 code at 8 px a module
    assert len(zlib.decompress(idat)) > 0


async def test_qr_errors(client) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="qr-err")
    gif = await client.get("/api/links/qr-err/qr?format=gif", headers=headers)
    assert gif.status_code == 422
    stranger = await make_user(client)
    assert (await client.get("/api/links/qr-err/qr", headers=stranger)).status_code == 404
    assert (await client.get("/api/links/qr-err/qr")).status_code == 401
