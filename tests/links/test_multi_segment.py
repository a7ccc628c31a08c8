"""Multi-segment aliases (`guides/2026/report`): the longest matching link wins, a shorter
prefix only for a link that forwards paths; every API route takes such keys."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select

from shortener.models import OrphanVisit
from tests.factories import eventually, make_link, make_user, running

EIGHT = "aaa/bbb/ccc/ddd/eee/fff/ggg/hhh"


async def _location(client: Any, path: str) -> str | None:
    response = await client.get(path)
    if response.status_code == 404:
        return None
    assert response.status_code == 302, (path, response.status_code)
    return str(response.headers["location"])


async def _orphan_paths(app: Any) -> list[str]:
    async with app.runtime.sessionmaker() as session:
        rows = await session.execute(select(OrphanVisit.path).order_by(OrphanVisit.visited_at))
        return list(rows.scalars())


async def test_the_longest_matching_link_wins(client, app) -> None:  # type: ignore[no-untyped-def]
    user = await make_user(client)
    await make_link(client, user, alias="guides", url="https://g.example/", forward_path=True)
    await make_link(client, user, alias="guides/2026", url="https://g.example/year")
    await make_link(client, user, alias="guides/2026/report", url="https://g.example/report")
    assert await _location(client, "/guides/2026/report") == "https://g.example/report"
    assert await _location(client, "/guides/2026") == "https://g.example/year"
    assert await _location(client, "/guides/2026/") == "https://g.example/year"
    # `guides/2026` forwards no path: the shorter `guides`, which does, takes the rest.
    assert await _location(client, "/guides/2026/other") == "https://g.example/2026/other"
    assert await _location(client, "/guides/2027/x.pdf") == "https://g.example/2027/x.pdf"
    assert await _location(client, "/guides") == "https://g.example/"
    # Eight segments: a key; the rest of a longer path is only forwarded.
    await make_link(client, user, alias=EIGHT, url="https://e.example/")
    assert await _location(client, f"/{EIGHT}") == "https://e.example/"
    assert await _location(client, f"/{EIGHT}/iii") is None
    # Nothing matches: a visit to an unknown link, recorded (and only then).
    await make_link(client, user, alias="flat", url="https://f.example/")
    assert await _location(client, "/flat/deeper") is None

    async def recorded() -> bool:
        return "/flat/deeper" in await _orphan_paths(app)

    await eventually(recorded)
    assert await _orphan_paths(app) == [f"/{EIGHT}/iii", "/flat/deeper"]


async def test_forward_path_and_a_multi_segment_key_are_distinct(client) -> None:
    user = await make_user(client)
    await make_link(client, user, alias="docs-v2", url="https://d.example/v2/", forward_path=True)
    assert await _location(client, "/docs-v2/guide/intro") == "https://d.example/v2/guide/intro"
    # A link of that very path now exists: it wins over the forwarding prefix.
    before = await _location(client, "/docs-v2/guide")
    assert before == "https://d.example/v2/guide"
    await make_link(client, user, alias="docs-v2/guide", url="https://other.example/")
    assert await _location(client, "/docs-v2/guide") == "https://other.example/"
    # Deleted again: the prefix forwards once more (the cache and the filter follow).
    deleted = await client.delete("/api/links/docs-v2/guide", headers=user)
    assert deleted.status_code == 204
    assert await _location(client, "/docs-v2/guide") == "https://d.example/v2/guide"
    # Forwarding escapes what the visitor sent as it does for one-segment keys.
    escaped = await _location(client, "/docs-v2/a%20b/%C3%BC")
    assert escaped == "https://d.example/v2/a%20b/%C3%BC"


async def test_every_route_naming_a_link_takes_a_key_with_slashes(client) -> None:
    user = await make_user(client)
    link = await make_link(client, user, alias="team/qtr3/plan", title="Plan")
    assert link["key"] == "team/qtr3/plan"
    assert link["short_url"].endswith("/team/qtr3/plan")
    got = await client.get("/api/links/team/qtr3/plan", headers=user)
    assert got.status_code == 200 and got.json()["title"] == "Plan"
    # The sub-resources are matched first: `.../stats` is the statistics of `team/qtr3/plan`.
    stats = await client.get("/api/links/team/qtr3/plan/stats", headers=user)
    assert stats.status_code == 200, stats.text
    assert stats.json()["key"] == "team/qtr3/plan"
    qr = await client.get("/api/links/team/qtr3/plan/qr", headers=user)
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg")
    patched = await client.patch(
        "/api/links/team/qtr3/plan", json={"url": "https://example.com/new"}, headers=user
    )
    assert patched.status_code == 200, patched.text
    assert await _location(client, "/team/qtr3/plan") == "https://example.com/new"
    assert (await client.get("/api/links/team/qtr3", headers=user)).status_code == 404
    # A trailing '/' is no key: Starlette's redirect to the path without it, as before.
    for path in ("/api/links/", "/api/links/team/qtr3/plan/"):
        slash = await client.get(path, headers=user)
        assert slash.status_code == 307 and not slash.headers["location"].endswith("/"), path
    assert (await client.delete("/api/links/team/qtr3/plan", headers=user)).status_code == 204
    assert await _location(client, "/team/qtr3/plan") is None


async def test_bad_multi_segment_aliases_are_a_clear_422(client) -> None:
    user = await make_user(client)
    nine = EIGHT + "/iii"
    cases = {
        nine: "at most 8",
        "abc//def": "segment",
        "abc/de": "segment",
        "abc/": "segment",
        "api/links": "reserved",
        "docs/2026/report": "reserved",  # /docs is the API's documentation
        "team/stats": "/stats",
        "team/xyz/live": "/live",
        "abc/" + "d" * 61: "at most 64",
    }
    for alias, says in cases.items():
        response = await client.post(
            "/api/links", json={"url": "https://example.com/", "alias": alias}, headers=user
        )
        assert response.status_code == 422, (alias, response.text)
        assert says in str(response.json()["detail"]), (alias, response.text)
    assert (await client.get(f"/{nine}")).status_code == 404


async def test_loose_mode_matches_segments_in_any_case(make_settings) -> None:
    async with running(make_settings(short_url_mode="loose")) as (_, client):
        user = await make_user(client)
        link = await make_link(client, user, alias="Team/Qtr3/Plan", url="https://p.example/")
        assert link["key"] == "team/qtr3/plan"
        assert await _location(client, "/TEAM/qtr3/PLAN") == "https://p.example/"
        assert (await client.get("/api/links/Team/Qtr3/plan", headers=user)).status_code == 200
        await make_link(client, user, alias="Base", url="https://b.example/", forward_path=True)
        # The key is found in any case; the forwarded rest keeps the visitor's.
        assert await _location(client, "/BASE/Some/Path") == "https://b.example/Some/Path"
        assert await _location(client, "/team/Qtr3/plan/x") is None
        body = {"url": "https://x.example/", "alias": "TEAM/qtr3/plan"}
        taken = await client.post("/api/links", json=body, headers=user)
        assert taken.status_code == 409


async def test_exports_and_imports_round_trip_keys_with_slashes(client) -> None:
    user = await make_user(client)
    await make_link(client, user, alias="guides/2026/report", url="https://r.example/")
    await make_link(client, user, alias="one")
    export = await client.get("/api/links/export", headers=user)
    assert export.status_code == 200
    keys = [row["key"] for row in csv.DictReader(io.StringIO(export.text))]
    assert sorted(keys) == ["guides/2026/report", "one"]
    for key in keys:
        assert (await client.delete(f"/api/links/{key}", headers=user)).status_code == 204
    assert await _location(client, "/guides/2026/report") is None
    imported = await client.post(
        "/api/links/import",
        files={"file": ("links.csv", export.text.encode(), "text/csv")},
        headers=user,
    )
    assert imported.status_code == 200, imported.text
    assert (imported.json()["created"], imported.json()["errors"]) == (2, [])
    assert await _location(client, "/guides/2026/report") == "https://r.example/"
    # A key of another shortener with short segments is kept; nine segments are refused.
    other = "key,url\nab/c,https://s.example/\n" + "a/" * 8 + "i,https://n.example/\n"
    result = await client.post(
        "/api/links/import",
        files={"file": ("other.csv", other.encode(), "text/csv")},
        headers=user,
    )
    body = result.json()
    assert body["created"] == 1, body
    assert [e["line"] for e in body["errors"]] == [3]
    assert "at most 8" in body["errors"][0]["detail"], body
    assert await _location(client, "/ab/c") == "https://s.example/"
