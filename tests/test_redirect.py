"""GET/HEAD/POST /{key}: every answer of API.md's redirect table, clicks and max_clicks."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from shortener.models import Click, Link
from tests.factories import all_clicks, eventually, make_link, make_user

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


@pytest.mark.parametrize("redirect_type", [301, 302, 307, 308])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_redirect_answers_its_type_with_location(client, method, redirect_type) -> None:
    headers = await make_user(client)
    link = await make_link(
        client, headers, url="https://example.com/t", redirect_type=redirect_type
    )
    response = await client.request(method, f"/{link['key']}")
    assert response.status_code == redirect_type
    assert response.headers["location"] == "https://example.com/t"
    assert response.content == b""
    if redirect_type in (302, 307):
        assert response.headers["cache-control"] == "private, max-age=0"
    else:
        assert "cache-control" not in response.headers


async def test_default_is_302(client) -> None:
    link = await make_link(client, await make_user(client))
    response = await client.get(f"/{link['key']}")
    assert response.status_code == 302
    assert response.headers["cache-control"] == "private, max-age=0"


async def test_query_and_fragment_are_kept_in_location(client) -> None:
    url = "https://example.com/p?a=1&b=two#frag"
    link = await make_link(client, await make_user(client), url=url)
    assert (await client.get(f"/{link['key']}")).headers["location"] == url


async def test_unknown_key_is_json_404_for_json_clients(client) -> None:
    response = await client.get("/nosuchkey", headers=JSON)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"detail": "link not found"}
    no_accept = await client.get("/nosuchkey2")
    assert no_accept.status_code == 404
    assert no_accept.json()["detail"]


async def test_unknown_key_is_an_html_page_for_browsers(client) -> None:
    response = await client.get("/nosuchkey", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
    head = await client.head("/nosuchkey", headers=HTML)
    assert head.status_code == 404 and head.content == b""


async def test_unknown_key_never_reaches_the_database(client, app) -> None:
    cache = app.runtime.link_cache
    before = cache.hits["database"]
    for _ in range(4):
        assert (await client.get("/neverexisted")).status_code == 404
    assert cache.hits["database"] == before and cache.hits["filter"] >= 4


async def test_a_false_positive_of_the_key_filter_is_cached_negatively(client, app) -> None:
    cache = app.runtime.link_cache
    cache.keys.current.add("neverexisted")  # the filter lets it through, as it may any key
    before = cache.hits["database"] + cache.hits["redis"]
    assert (await client.get("/neverexisted")).status_code == 404
    assert cache.hits["database"] + cache.hits["redis"] == before + 1
    for _ in range(3):
        assert (await client.get("/neverexisted")).status_code == 404
    assert cache.hits["database"] + cache.hits["redis"] == before + 1


async def test_known_key_is_read_from_the_database_once(client, app) -> None:
    link = await make_link(client, await make_user(client))
    cache = app.runtime.link_cache
    before = cache.hits["database"]
    for _ in range(5):
        assert (await client.get(f"/{link['key']}")).status_code == 302
    assert cache.hits["database"] <= before + 1


async def _set_column(app, key: str, **values) -> None:
    """Change a link behind the API's back, as time or another process would."""
    async with app.runtime.sessionmaker() as session, session.begin():
        await session.execute(update(Link).where(col(Link.key) == key).values(**values))
    await app.runtime.link_cache.invalidate(key)


async def test_expired_link_is_410(client, app) -> None:
    headers = await make_user(client)
    future = datetime.now(UTC) + timedelta(hours=1)
    link = await make_link(client, headers, expires_at=future.isoformat())
    assert (await client.get(f"/{link['key']}")).status_code == 302
    await _set_column(app, link["key"], expires_at=datetime.now(UTC) - timedelta(seconds=1))
    for accept, kind in ((JSON, "application/json"), (HTML, "text/html")):
        response = await client.get(f"/{link['key']}", headers=accept)
        assert response.status_code == 410
        assert response.headers["content-type"].startswith(kind)
        assert "location" not in response.headers
    assert (await client.head(f"/{link['key']}")).status_code == 410


async def test_cached_link_expires_on_time_without_invalidation(client, app) -> None:
    """The cache keeps expires_at, not a verdict: an entry cached before expiry still expires."""
    headers = await make_user(client)
    link = await make_link(
        client, headers, expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()
    )
    # Long enough that a loaded machine (two test workers on two cores) still answers the first
    # request before it: 0.3 s was not, now and then.
    await _set_column(app, link["key"], expires_at=datetime.now(UTC) + timedelta(seconds=2))
    assert (await client.get(f"/{link['key']}")).status_code == 302  # cached now

    async def expired() -> bool:
        return (await client.get(f"/{link['key']}")).status_code == 410

    await eventually(expired)


async def test_inactive_link_is_410(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers)
    await client.patch(f"/api/links/{link['key']}", json={"is_active": False}, headers=headers)
    response = await client.get(f"/{link['key']}", headers=JSON)
    assert response.status_code == 410
    assert response.json()["detail"]


async def test_max_clicks_then_410(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, max_clicks=2)
    assert [(await client.get(f"/{link['key']}")).status_code for _ in range(4)] == [
        302,
        302,
        410,
        410,
    ]


async def test_max_clicks_is_exact_under_concurrency(client, app) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, max_clicks=5)
    answers = await asyncio.gather(*(client.get(f"/{link['key']}") for _ in range(30)))
    assert Counter(r.status_code for r in answers) == {302: 5, 410: 25}

    async def five_clicks() -> bool:
        r = await client.get(f"/api/links/{link['key']}", headers=headers)
        return bool(all_clicks(r.json()) == 5)

    await eventually(five_clicks)


async def test_password_link_shows_a_form(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, password="open sesame")
    response = await client.get(f"/{link['key']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers
    assert '<form method="post"' in response.text
    assert 'name="password"' in response.text
    assert "open sesame" not in response.text


async def test_password_right_redirects_wrong_is_403(client) -> None:
    headers = await make_user(client)
    link = await make_link(
        client, headers, url="https://example.com/secret", password="open sesame", redirect_type=307
    )
    path = f"/{link['key']}"
    wrong = await client.post(path, data={"password": "open sesame!"})
    assert wrong.status_code == 403
    assert "Wrong password" in wrong.text
    assert "location" not in wrong.headers
    empty = await client.post(path, data={})
    assert empty.status_code == 403
    right = await client.post(path, data={"password": "open sesame"})
    assert right.status_code == 307
    assert right.headers["location"] == "https://example.com/secret"


async def test_post_to_a_link_without_password_is_405(client) -> None:
    link = await make_link(client, await make_user(client))
    response = await client.post(f"/{link['key']}", data={"password": "x"})
    assert response.status_code == 405


async def test_clicks_are_counted_exactly(client, app) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers)
    other = await make_link(client, headers)
    for _ in range(7):
        assert (await client.get(f"/{link['key']}")).status_code == 302
    assert (await client.head(f"/{other['key']}")).status_code == 302

    async def counted() -> bool:
        r = await client.get(f"/api/links/{link['key']}", headers=headers)
        return bool(all_clicks(r.json()) == 7)

    await eventually(counted)
    # Not counted twice: once everything queued is written, the figures have not moved.
    await app.runtime.click_recorder.ship()  # what the pump has not queued yet
    await app.runtime.flusher.drain()
    assert all_clicks((await client.get(f"/api/links/{link['key']}", headers=headers)).json()) == 7
    # A HEAD is answered but is not a click (issue 18, item 3).
    assert all_clicks((await client.get(f"/api/links/{other['key']}", headers=headers)).json()) == 0
    async with app.runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                select(func.count())
                .select_from(Click)
                .join(Link)
                .where(col(Link.key) == link["key"])
            )
        ).scalar_one()
    assert rows == 7


async def test_refused_requests_are_not_clicks(client, app) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, password="pw")
    await client.get(f"/{link['key']}")  # the form
    await client.post(f"/{link['key']}", data={"password": "wrong"})
    assert (await client.post(f"/{link['key']}", data={"password": "pw"})).status_code == 302

    async def one_click() -> bool:
        r = await client.get(f"/api/links/{link['key']}", headers=headers)
        return bool(all_clicks(r.json()) == 1)

    await eventually(one_click)
    await app.runtime.click_recorder.ship()  # what the pump has not queued yet
    await app.runtime.flusher.drain()
    assert all_clicks((await client.get(f"/api/links/{link['key']}", headers=headers)).json()) == 1


@pytest.mark.parametrize("path", ["/api", "/docs", "/healthz", "/openapi.json", "/readyz"])
async def test_reserved_paths_are_not_treated_as_keys(client, path) -> None:
    response = await client.get(path)
    assert response.status_code != 404 or path == "/api"
    assert response.status_code < 500


@pytest.mark.parametrize(
    "path", ["/%00", "/" + "k" * 5000, "/a%2Fb", "/..%2f..%2fetc", "/ü", "/has space", "/a.b"]
)
async def test_odd_paths_are_4xx(client, path) -> None:
    response = await client.get(path, headers=JSON)
    assert 400 <= response.status_code < 500, (path, response.status_code)
