"""Imports of the CSVs people actually have (issue 18, items 1, 7 and 8): any file with a URL
column and the usual names for the key, any of the usual delimiters, re-imports that create
nothing, and a size limit of their own."""

from __future__ import annotations

import codecs
import io

import pytest

from shortener.transfer.formats import count_rows, open_text, read_csv
from tests.factories import make_user, running, token_for
from tests.transfer.test_csv import upload
from tests.web.test_pages import csrf_of, register
from tests.workspaces.helpers import new_slug


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("url\nhttps://a.example/\nhttps://b.example/\n", [None, None]),
        ("URL\nhttps://a.example/\n", [None]),
        ("url,alias,title\nhttps://a.example/,al-1,A\n", ["al-1"]),
        ("longUrl;slug\nhttps://a.example/;sl-1\n", ["sl-1"]),
        ("Destination\tShort_Code\nhttps://a.example/\tsc-1\n", ["sc-1"]),
        ("target,keyword\nhttps://a.example/,kw-1\n", ["kw-1"]),
        ("Long URL,Key,Tags\nhttps://a.example/,ky-1,x|y\n", ["ky-1"]),
    ],
)
def test_any_csv_with_a_url_column_is_read(text: str, keys: list[str | None]) -> None:
    parsed = read_csv(text)
    rows = list(parsed.rows)
    assert [getattr(r, "key", "error") for r in rows] == keys, rows
    assert all(r.url.startswith("https://") for r in rows)  # type: ignore[union-attr]


def test_a_file_without_a_url_column_is_told_which_column_is_missing() -> None:
    with pytest.raises(ValueError) as caught:
        read_csv("name;email\nx;y\n")
    message = str(caught.value)
    assert "no URL column" in message and "url" in message and "destination" in message
    assert "name, email" in message  # what it found, split at the right delimiter
    assert len(message) < 200


def test_a_stream_is_read_as_the_text_is() -> None:
    data = "url;title\r\nhttps://a.example/;Café\r\nhttps://b.example/;B\r\n"
    # UTF-16 (Excel's "Unicode Text") carries its byte-order mark: "utf-16" writes one.
    for encoding in ("utf-8-sig", "cp1252", "utf-16", "utf-16-be"):
        raw = data.encode(encoding)
        if encoding == "utf-16-be":
            raw = codecs.BOM_UTF16_BE + raw
        text = open_text(io.BytesIO(raw))
        assert count_rows(text) == 2
        rows = list(read_csv(text).rows)
        assert [r.title for r in rows] == ["Café", "B"]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="NUL bytes"):  # UTF-16 without its mark: not text
        open_text(io.BytesIO(data.encode("utf-16-le")))


async def test_plain_csvs_import_through_the_api(client) -> None:
    headers = await make_user(client)
    response = await upload(client, headers, "URL;Alias;Title\nhttps://a.example/;plain-1;A\n")
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    link = (await client.get("/api/links/plain-1", headers=headers)).json()
    assert (link["url"], link["title"]) == ("https://a.example/", "A")
    refused = await upload(client, headers, "name,email\nx,y\n")
    assert refused.status_code == 422
    assert "no URL column" in refused.json()["detail"][0]["msg"]


async def test_importing_the_same_file_twice_creates_nothing_the_second_time(client) -> None:
    """Keyless rows are matched by URL, title and creation time (when given), as many times
    as the file repeats them."""
    headers = await make_user(client)
    text = (
        "url,title,created_at\n"
        "https://kl.example/1,One,\n"
        "https://kl.example/1,One,\n"  # the same row twice: two links, both times
        "https://kl.example/1,Other title,\n"
        "https://kl.example/2,,2020-01-01T00:00:00Z\n"
        "https://kl.example/2,,2021-01-01T00:00:00Z\n"
    )
    first = (await upload(client, headers, text)).json()
    assert (first["created"], first["skipped"], first["errors"]) == (5, 0, [])
    second = (await upload(client, headers, text)).json()
    assert (second["created"], second["skipped"], second["errors"]) == (0, 5, [])
    assert (await client.get("/api/links", headers=headers)).json()["total"] == 5
    # One more row of the same: only it is new.
    third = (await upload(client, headers, text + "https://kl.example/1,One,\n")).json()
    assert (third["created"], third["skipped"]) == (1, 5)
    # Another user's links are not theirs.
    other = await make_user(client)
    assert (await upload(client, other, text)).json()["created"] == 5


async def test_keyless_reimport_across_chunks(client) -> None:
    headers = await make_user(client)
    rows = [f"https://chunks.example/{i % 1500}" for i in range(2500)]
    text = "url\n" + "\n".join(rows) + "\n"
    assert (await upload(client, headers, text)).json()["created"] == 2500
    again = (await upload(client, headers, text)).json()
    assert (again["created"], again["skipped"]) == (0, 2500)


async def test_imports_have_their_own_size_limit(make_settings) -> None:
    settings = make_settings(max_body_bytes=64 * 1024, import_max_bytes=1024 * 1024)
    async with running(settings) as (_, client):
        headers = await make_user(client)
        rows = [f"https://big.example/{i:06d},big{i:06d}" for i in range(12_000)]
        text = "url,key\n" + "\n".join(rows) + "\n"
        assert 64 * 1024 < len(text) < 1024 * 1024 < 3 * len(text)
        response = await upload(client, headers, text)
        assert response.status_code == 200, response.text
        assert response.json()["created"] == 12_000
        # Other bodies keep MAX_BODY_BYTES.
        big_json = {"url": "https://example.com/" + "a" * 70_000}
        assert (await client.post("/api/links", json=big_json, headers=headers)).status_code == 413
        too_big = await upload(client, headers, text * 3)
        assert too_big.status_code == 413
        detail = too_big.json()["detail"]
        assert "IMPORT_MAX_BYTES" in detail and "shortener import" in detail


async def test_a_workspace_dashboard_import_has_the_import_size_limit(make_settings) -> None:
    """The same import page under /w/{slug}/ takes what IMPORT_MAX_BYTES allows: the limit
    is chosen by the path the routes see, not the prefixed one."""
    settings = make_settings(max_body_bytes=64 * 1024, import_max_bytes=1024 * 1024)
    async with running(settings) as (_, client):
        email = await register(client)
        slug = new_slug()
        bearer = {"Authorization": f"Bearer {await token_for(client, email)}"}
        made = await client.post(
            "/api/workspaces", json={"name": "Big", "slug": slug}, headers=bearer
        )
        assert made.status_code == 201, made.text
        page = await client.get(f"/w/{slug}/dashboard/transfer")
        rows = [f"https://big.example/{i:06d},wbig{i:06d}" for i in range(3_000)]
        text = "url,key\n" + "\n".join(rows) + "\n"
        assert 64 * 1024 < len(text) < 1024 * 1024 < 10 * len(text)
        imported = await client.post(
            f"/w/{slug}/dashboard/transfer/import",
            data={"csrf_token": csrf_of(page)},
            files={"file": ("big.csv", text.encode(), "text/csv")},
        )
        assert imported.status_code == 200, imported.text[:500]
        listed = await client.get("/api/links", headers={**bearer, "X-Workspace": slug})
        assert listed.json()["total"] == 3_000
        too_big = await client.post(
            f"/w/{slug}/dashboard/transfer/import",
            data={"csrf_token": csrf_of(page)},
            files={"file": ("big.csv", (text * 10).encode(), "text/csv")},
            headers={"accept": "application/json"},
        )
        assert too_big.status_code == 413
        assert "IMPORT_MAX_BYTES" in too_big.json()["detail"]
