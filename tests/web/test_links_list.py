"""/dashboard's list over HTTP (both storage modes): bulk actions and their rules (only the
caller's links, cache invalidation, webhook events, confirmation before deleting), filters and
pages in the URL, badges, thousands separators, and the pages of custom-domain links."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shortener.keys import md5_hex
from shortener.models import Link, User, Workspace, utcnow
from tests.factories import PASSWORD, eventually, make_link, make_user, token_for
from tests.web.test_pages import HTML, csrf_of, register
from tests.webhooks.receiver import Receiver

ROW = re.compile(r'name="ids" value="(\d+)" aria-label="Select [^/"]+/([^"]+)"')


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    return make_settings(allow_private_webhooks=True, webhook_poll_interval=0.05)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    yield r
    await r.stop()


def ids_on(page: httpx.Response) -> dict[str, int]:
    """key -> link id, for each row of the list."""
    return {key: int(link_id) for link_id, key in ROW.findall(page.text)}


async def link_id(client: httpx.AsyncClient, key: str) -> int:
    app: Any = client._transport.app  # type: ignore[attr-defined]
    async with app.runtime.sessionmaker() as session:
        return int((await session.execute(select(Link.id).where(Link.key == key))).scalar_one())


async def bulk(client: httpx.AsyncClient, **form: Any) -> httpx.Response:
    token = csrf_of(await client.get("/dashboard"))
    return await client.post("/dashboard/bulk", data={"csrf_token": token, **form})


async def flash(client: httpx.AsyncClient, response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    match = re.search(r'<div class="flash flash-(\w+)" role="status">([^<]*)</div>', page.text)
    assert match, "no message shown"
    return f"{match.group(1)}: {match.group(2)}"


async def test_bulk_actions_touch_only_the_callers_links(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    bob = await make_user(client)
    await make_link(client, bob, alias="bobs-link")
    bobs = await link_id(client, "bobs-link")
    email = await register(client)
    alice = {"Authorization": f"Bearer {await token_for(client, email)}"}
    hook = await client.post(
        "/api/webhooks",
        json={"url": await receiver.start(), "events": ["link.updated", "link.deleted"]},
        headers=alice,
    )
    assert hook.status_code == 201
    for key in ("a-one", "a-two", "a-three"):
        await make_link(client, alice, alias=key, tags=["old"])
    ids = ids_on(await client.get("/dashboard"))
    assert set(ids) == {"a-one", "a-two", "a-three"}
    picked = [ids["a-one"], ids["a-two"], bobs]  # bob's id is ignored, as if it did not exist
    assert (await client.get("/a-one")).status_code == 302  # now in the link cache

    back = "/dashboard?tag=old"
    done = await bulk(client, action="deactivate", ids=picked, back=back)
    assert done.headers["location"] == back
    assert await flash(client, done) == "success: Deactivated 2 links."
    assert (await client.get("/a-one")).status_code == 410  # the cache was invalidated
    assert (await client.get("/a-three")).status_code == 302
    assert (await client.get("/bobs-link")).status_code == 302
    inactive = await client.get("/dashboard", params={"status": "inactive"})
    assert set(ids_on(inactive)) == {"a-one", "a-two"}
    # Already inactive: nothing changes, nothing is announced.
    assert await flash(client, await bulk(client, action="deactivate", ids=picked)) == (
        "success: Deactivated 0 links."
    )
    await bulk(client, action="activate", ids=picked)
    assert (await client.get("/a-one")).status_code == 302

    tagged = await bulk(client, action="add_tag", tag=" Launch ", ids=picked)
    assert await flash(client, tagged) == "success: Tagged 2 links."
    listed = await client.get("/api/links", params={"tag": "Launch"}, headers=alice)
    assert sorted(link["key"] for link in listed.json()["items"]) == ["a-one", "a-two"]
    assert (await client.get("/api/links/bobs-link", headers=bob)).json()["tags"] == []
    untagged = await bulk(client, action="remove_tag", tag="old", ids=[ids["a-one"], bobs])
    assert await flash(client, untagged) == "success: Untagged 1 link."
    one = (await client.get("/api/links/a-one", headers=alice)).json()
    assert one["tags"] == ["launch"]  # tags ignore case: stored lower-cased

    # Deleting asks first (no script here): the page lists only the caller's links.
    asked = await bulk(client, action="delete", ids=picked, back=back)
    assert asked.status_code == 200
    assert "Delete 2 links?" in asked.text and "bobs-link" not in asked.text
    assert (await client.get("/a-one")).status_code == 302
    confirmed = await client.post(
        "/dashboard/bulk",
        data={
            "csrf_token": csrf_of(asked),
            "action": "delete",
            "confirmed": "yes",
            "back": back,
            "ids": re.findall(r'name="ids" value="(\d+)"', asked.text),
        },
    )
    assert await flash(client, confirmed) == "success: Deleted 2 links."
    assert (await client.get("/a-one")).status_code == 404
    assert (await client.get("/bobs-link")).status_code == 302
    assert set(ids_on(await client.get("/dashboard"))) == {"a-three"}

    # The events a single change would send: 2 deactivated, 2 activated, 2 tagged,
    # 1 untagged, 2 deleted.
    async def all_sent() -> bool:
        return len(receiver.received) >= 9

    await eventually(all_sent)
    events = [json.loads(r.body) for r in receiver.received]
    assert sorted(e["event"] for e in events) == ["link.deleted"] * 2 + ["link.updated"] * 7
    assert {e["data"]["key"] for e in events} == {"a-one", "a-two"}
    deleted = [e["data"] for e in events if e["event"] == "link.deleted"]
    assert all("launch" in d["tags"] for d in deleted)


async def test_an_admin_acts_on_everyones_links(client: httpx.AsyncClient) -> None:
    bob = await make_user(client)
    await make_link(client, bob, alias="bobs-link")
    admin = await make_user(client, admin=True)
    await make_link(client, admin, alias="admins-link")
    app: Any = client._transport.app  # type: ignore[attr-defined]
    async with app.runtime.sessionmaker() as session:
        email = (await session.execute(select(User.email).where(User.is_admin))).scalars().first()
    token = csrf_of(await client.get("/login"))
    signed = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert signed.status_code == 303
    ids = [await link_id(client, "bobs-link"), await link_id(client, "admins-link")]
    done = await bulk(client, action="deactivate", ids=ids)
    assert await flash(client, done) == "success: Deactivated 2 links."
    assert (await client.get("/api/links/bobs-link", headers=bob)).json()["is_active"] is False


async def test_bulk_refusals_are_clear(client: httpx.AsyncClient) -> None:
    email = await register(client)
    alice = {"Authorization": f"Bearer {await token_for(client, email)}"}
    await make_link(client, alice, alias="a-one", tags=[f"t{i}" for i in range(20)])
    one = await link_id(client, "a-one")
    unknown = await bulk(client, action="explode", ids=[one], headers=HTML)
    assert unknown.status_code == 422 and "the action is one of" in unknown.text
    missing = await client.post("/dashboard/bulk", data={"action": "delete", "ids": [one]})
    assert missing.status_code == 403  # no CSRF token
    nothing = await bulk(client, action="deactivate")
    assert await flash(client, nothing) == "error: Select the links first."
    huge = await bulk(client, action="delete", confirmed="yes", ids=["9" * 30, str(2**31)])
    assert await flash(client, huge) == "error: Select the links first."
    blank = await bulk(client, action="add_tag", tag=" ", ids=[one])
    assert await flash(client, blank) == "error: a tag cannot be empty"
    full = await bulk(client, action="add_tag", tag="one-more", ids=[one])
    assert (
        await flash(client, full) == "error: 1 of the links already have 20 tags (the most): a-one"
    )
    # `back` only ever leads to the list.
    away = await bulk(client, action="activate", ids=[one], back="https://evil.example/")
    assert away.headers["location"] == "/dashboard"
    assert (await client.get("/api/links/a-one", headers=alice)).json()["tags"][-1] == "t9"


async def _insert(client: httpx.AsyncClient, email: str, count: int, **fields: Any) -> None:
    """`count` links straight into the database (faster than the API for a big list)."""
    app: Any = client._transport.app  # type: ignore[attr-defined]
    async with app.runtime.sessionmaker() as session, session.begin():
        owner = (await session.execute(select(User.id).where(User.email == email))).scalar_one()
        personal = select(Workspace.id).where(Workspace.personal_user_id == owner)
        workspace = (await session.execute(personal)).scalar_one()
        prefix = fields.pop("prefix", "bulk")
        now = utcnow()
        session.add_all(
            Link(
                key=f"{prefix}-{i:05d}",
                url=f"https://example.com/{prefix}/{i}",
                url_md5=md5_hex(f"https://example.com/{prefix}/{i}"),
                owner_id=owner,
                workspace_id=workspace,
                key_strategy="alias",
                created_at=now - timedelta(seconds=count - i),
                **fields,
            )
            for i in range(count)
        )


async def test_filters_pages_badges_and_thousands(client: httpx.AsyncClient) -> None:
    email = await register(client)
    alice = {"Authorization": f"Bearer {await token_for(client, email)}"}
    await _insert(client, email, 1_001)
    past = utcnow() - timedelta(days=1)
    await _insert(client, email, 2, prefix="gone", expires_at=past)
    await _insert(client, email, 1, prefix="used", max_clicks=3, uses=3)
    await _insert(client, email, 1, prefix="soon", expires_at=utcnow() + timedelta(days=2))
    await _insert(client, email, 1, prefix="off", is_active=False)
    await make_link(client, alice, alias="tagged-one", tags=["launch"], max_clicks=1_500)

    first = await client.get("/dashboard")
    assert "1,007 links" in first.text
    assert "Page 1 of 51" in first.text
    assert 'aria-label="Page 51"' in first.text and 'aria-current="page">1<' in first.text
    assert "0 of 1,500" in first.text  # the click limit badge of tagged-one

    # A jump is a GET of ?page=, the filters kept beside it.
    page = await client.get("/dashboard", params={"q": "bulk", "page": "30"})
    assert "Page 30 of 51" in page.text and "1,001 links matching" in page.text
    assert '<input type="hidden" name="q" value="bulk">' in page.text
    assert 'href="/dashboard?q=bulk&amp;page=31" rel="next"' in page.text
    assert sorted(ids_on(page)) == [f"bulk-{i:05d}" for i in range(401, 421)]
    # Past the end: the last page; a page that is no number: the first.
    last = await client.get("/dashboard", params={"q": "bulk", "page": "999"})
    assert "Page 51 of 51" in last.text and set(ids_on(last)) == {"bulk-00000"}
    assert "Page 1 of" in (await client.get("/dashboard", params={"page": "-3"})).text

    expired = await client.get("/dashboard", params={"status": "expired"})
    assert set(ids_on(expired)) == {"gone-00000", "gone-00001", "used-00000"}
    assert expired.text.count(">expired</span>") == 2 and "3 of 3" in expired.text
    assert set(ids_on(await client.get("/dashboard", params={"status": "inactive"}))) == {
        "off-00000"
    }
    soon = await client.get("/dashboard", params={"q": "soon"})
    assert "expires " in soon.text and "badge-soon" in soon.text
    tag = await client.get("/dashboard", params={"tag": "launch", "status": "active"})
    assert set(ids_on(tag)) == {"tagged-one"} and "1 link matching" in tag.text
    on_default = await client.get("/dashboard", params={"domain": "short.test", "q": "tagged"})
    assert set(ids_on(on_default)) == {"tagged-one"}
    foreign = await client.get("/dashboard", params={"domain": "not-mine.example"}, headers=HTML)
    assert foreign.status_code == 404 and "no domain not-mine.example of yours" in foreign.text
    # Hand-edited values are ignored rather than refused.
    assert (await client.get("/dashboard", params={"status": "weird"})).status_code == 200


async def test_custom_domain_links_have_pages(client: httpx.AsyncClient) -> None:
    admin = await make_user(client, admin=True)
    created = await client.post(
        "/api/domains", json={"hostname": "go.example.test", "verified": True}, headers=admin
    )
    assert created.status_code == 201, created.text
    await make_link(client, admin, alias="same", domain="go.example.test", url="https://a.test/")
    await make_link(client, admin, alias="same", url="https://b.test/")
    app: Any = client._transport.app  # type: ignore[attr-defined]
    async with app.runtime.sessionmaker() as session:
        email = (await session.execute(select(User.email).where(User.is_admin))).scalars().first()
    token = csrf_of(await client.get("/login"))
    await client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})

    listed = await client.get("/dashboard")
    assert 'href="/dashboard/links/same?domain=go.example.test" aria-label' in listed.text
    assert 'href="/dashboard/links/same" aria-label' in listed.text
    on_domain = await client.get("/dashboard", params={"domain": "go.example.test"})
    assert 'href="/dashboard/links/same?domain=go.example.test" aria-label' in on_domain.text
    assert 'href="/dashboard/links/same" aria-label' not in on_domain.text

    page = await client.get("/dashboard/links/same", params={"domain": "go.example.test"})
    assert page.status_code == 200 and "https://a.test/" in page.text
    assert 'action="/dashboard/links/same?domain=go.example.test"' in page.text
    assert 'data-live="/dashboard/links/same/live?domain=go.example.test"' in page.text
    assert "https://b.test/" in (await client.get("/dashboard/links/same")).text
    qr = await client.get("/dashboard/links/same/qr.svg", params={"domain": "go.example.test"})
    assert qr.status_code == 200 and b"http://go.example.test/same" in qr.content

    edited = await client.post(
        "/dashboard/links/same?domain=go.example.test",
        data={"url": "https://c.test/", "is_active": "on", "csrf_token": csrf_of(page)},
    )
    assert edited.headers["location"] == "/dashboard/links/same?domain=go.example.test"
    asked = await client.get("/dashboard/links/same/delete", params={"domain": "go.example.test"})
    assert asked.status_code == 200 and "Delete http://go.example.test/same?" in asked.text
    assert 'action="/dashboard/links/same/delete?domain=go.example.test"' in asked.text
    deleted = await client.post(
        "/dashboard/links/same/delete?domain=go.example.test",
        data={"csrf_token": csrf_of(asked)},
    )
    assert await flash(client, deleted) == "success: Deleted http://go.example.test/same."
    assert (
        await client.get("/dashboard/links/same", params={"domain": "go.example.test"})
    ).status_code == 404
    assert "https://b.test/" in (await client.get("/dashboard/links/same")).text


async def test_deleting_one_link_asks_first(client: httpx.AsyncClient) -> None:
    email = await register(client)
    alice = {"Authorization": f"Bearer {await token_for(client, email)}"}
    await make_link(client, alice, alias="a-one")
    listed = await client.get("/dashboard")
    assert 'href="/dashboard/links/a-one/delete"' in listed.text
    page = await client.get("/dashboard/links/a-one")
    assert 'href="/dashboard/links/a-one/delete" data-confirm=' in page.text
    asked = await client.get("/dashboard/links/a-one/delete")
    assert asked.status_code == 200 and "Delete http://short.test/a-one?" in asked.text
    assert (await client.get("/a-one")).status_code == 302  # asking deletes nothing
    assert (await client.get("/dashboard/links/nope/delete")).status_code == 404
