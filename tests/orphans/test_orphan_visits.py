"""Visits to unknown links: recorded after the 404, capped per domain and minute, rolled up,
shown by `GET /api/visits/orphan` and forgotten by its DELETE."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from shortener.clicks.events import OrphanRecord
from shortener.clicks.writer import write_clicks
from shortener.models import ORPHAN_PATH_LENGTH, OrphanMinute, OrphanVisit
from tests.clicks import traffic as ua
from tests.factories import all_clicks, eventually, make_link, make_user


async def _raw(app: Any) -> list[OrphanVisit]:
    async with app.runtime.sessionmaker() as session:
        rows = await session.execute(select(OrphanVisit).order_by(OrphanVisit.visited_at))
        return list(rows.scalars())


async def _wait_raw(app: Any, n: int) -> list[OrphanVisit]:
    async def enough() -> bool:
        return len(await _raw(app)) >= n

    await eventually(enough)
    return await _raw(app)


async def _domains(client: Any, admin: dict[str, str], *hostnames: str) -> None:
    """Verified domains of the admin's: only a domain we serve has visits recorded under its
    name (with none, every host is the default domain)."""
    for hostname in hostnames:
        response = await client.post(
            "/api/domains", json={"hostname": hostname, "verified": True}, headers=admin
        )
        assert response.status_code == 201, response.text


async def _stats(client: Any, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get("/api/visits/orphan", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_404_of_the_redirect_path_is_recorded(client, app) -> None:  # type: ignore[no-untyped-def]
    admin = await make_user(client, admin=True)
    await _domains(client, admin, "go.example.com")
    await make_link(client, admin, alias="known", domain="go.example.com")
    asks = [
        ("/nope", ua.CHROME_WINDOWS),  # an unknown key
        ("/known/more", ua.SAFARI_IPHONE),  # a link that forwards no path
        ("/.env", ua.CURL),  # a path that can be no key
        ("/wp-login.php", ua.GOOGLEBOT),
    ]
    for path, agent in asks:
        headers = {
            "User-Agent": agent,
            "Referer": "https://Scanner.example/x?secret=1",
            "X-Forwarded-For": "81.2.69.142",
            "Host": "Go.Example.COM:8443",
        }
        response = await client.get(path, headers=headers)
        assert response.status_code == 404
    # The home page, the API and a redirect are not visits to unknown links.
    known = await client.get("/known", headers={"Host": "go.example.com"})
    assert known.status_code in (301, 302, 307, 308)
    assert (await client.get("/api/nothing-here")).status_code == 404
    rows = await _wait_raw(app, 4)
    assert [r.path for r in rows] == [p for p, _ in asks]
    assert {r.domain for r in rows} == {"go.example.com"}  # normalised, the port dropped
    assert {r.referrer_host for r in rows} == {"scanner.example"}  # never the path or query
    assert {r.country for r in rows} == {"GB"}
    assert [r.is_bot for r in rows] == [False, False, True, True]
    assert rows[1].device == "mobile"
    assert all(r.visitor_hash for r in rows)
    # Never the address: no column holds it.
    assert not any("81.2.69.142" in str(v) for r in rows for v in r.model_dump().values())
    # Nor did a link gain a click.
    mine = await client.get("/api/links/known?domain=go.example.com", headers=admin)
    assert all_clicks(mine.json()) == 1

    stats = await _stats(client, admin)
    assert stats["total_visits"] == 2  # bots left out by default
    assert stats["dropped"] == 0
    assert stats["paths"] == [
        {"value": "/known/more", "clicks": 1},
        {"value": "/nope", "clicks": 1},
    ]
    assert stats["referrers"] == [{"value": "scanner.example", "clicks": 2}]
    assert stats["countries"] == [{"value": "GB", "clicks": 2}]
    assert {s["value"] for s in stats["devices"]} == {"desktop", "mobile"}
    assert sum(p["clicks"] for p in stats["timeseries"]) == 2
    assert len(stats["timeseries"]) == 31  # the link statistics' default window
    with_bots = await _stats(client, admin, include_bots="true", domain="GO.example.com")
    assert with_bots["total_visits"] == 4
    assert with_bots["domain"] == "go.example.com"
    assert with_bots["paths"][0] == {"value": "/.env", "clicks": 1}
    other = await _stats(client, admin, include_bots="true", domain="other.example")
    assert other["total_visits"] == 0


async def test_the_path_is_cut_and_the_answer_unchanged(client, app) -> None:  # type: ignore[no-untyped-def]
    long_key = "/x" + "y" * 60 + "/" + "z" * 2000
    response = await client.get(long_key, headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json() == {"detail": "link not found"}
    (row,) = await _wait_raw(app, 1)
    assert len(row.path) == ORPHAN_PATH_LENGTH
    assert long_key.startswith(row.path)


async def test_control_characters_in_a_path_cannot_hold_up_the_batch(client, app) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL takes no NUL in text: a scanner's %00 is stored escaped, and the visits
    around it are written in the same batch."""
    for path in ("/before", "/a%00b%0D%0Aevil", "/after"):
        assert (await client.get(path)).status_code == 404
    rows = await _wait_raw(app, 3)
    assert sorted(r.path for r in rows) == ["/a%00b%0D%0Aevil", "/after", "/before"]
    assert app.runtime.flusher.set_aside == []


async def test_the_cap_keeps_raw_rows_per_domain_and_minute_and_counts_the_rest(  # type: ignore[no-untyped-def]
    make_settings,
) -> None:
    from tests.factories import running

    async with running(make_settings(orphan_visits_per_minute=3)) as (app, client):
        admin = await make_user(client, admin=True)
        await _domains(client, admin, "a.example", "b.example")
        for i in range(7):
            await client.get(f"/guess{i}", headers={"Host": "a.example"})
        await client.get("/guess", headers={"Host": "b.example"})

        async def counted() -> bool:
            body = await _stats(client, admin, include_bots="true", domain="a.example")
            return bool(body["dropped"] == 4)

        await eventually(counted)
        rows = await _wait_raw(app, 4)
        assert sorted(r.domain for r in rows) == ["a.example"] * 3 + ["b.example"]
        body = await _stats(client, admin, include_bots="true", domain="a.example")
        assert body["total_visits"] == 3
        everything = await _stats(client, admin, include_bots="true")
        assert (everything["total_visits"], everything["dropped"]) == (4, 4)


async def test_the_cap_holds_across_workers_at_write_time(app) -> None:  # type: ignore[no-untyped-def]
    """Each worker admits up to the cap; the writer keeps the cap for all of them together,
    and a redelivered batch is written once."""
    now = time.time()
    first = [OrphanRecord(link_id=0, ts=now, domain="c.example", path=f"/{i}") for i in range(400)]
    second = [OrphanRecord(link_id=0, ts=now, domain="c.example", path=f"/{i}") for i in range(400)]
    for batch, raw_rows in ((first, 400), (second, 600), (first, 600)):  # the last: again
        async with app.runtime.sessionmaker() as session, session.begin():
            assert await write_clicks(session, batch, orphans_per_minute=600) == 0  # no clicks
        assert len(await _raw(app)) == raw_rows
    async with app.runtime.sessionmaker() as session:
        kept = await session.execute(select(func.count()).select_from(OrphanVisit))
        assert kept.scalar_one() == 600
        minutes = await session.execute(select(OrphanMinute.visits))
        assert minutes.scalar_one() == 800


async def test_who_sees_and_purges(client, app) -> None:  # type: ignore[no-untyped-def]
    admin = await make_user(client, admin=True)
    user = await make_user(client)
    await _domains(client, admin, "d.example")
    await client.get("/gone", headers={"Host": "d.example", "User-Agent": ua.FIREFOX_LINUX})
    await _wait_raw(app, 1)
    # Not an admin: no domain of theirs yet, so nothing to see or purge.
    for params in ({}, {"domain": "d.example"}):
        response = await client.get("/api/visits/orphan", params=params, headers=user)
        assert response.status_code == 403, response.text
        response = await client.delete(
            "/api/visits/orphan", params={**params, "before": "2999-01-01"}, headers=user
        )
        assert response.status_code == 403
    bad = await client.get("/api/visits/orphan", params={"domain": "a/b"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "domain"]
    no_before = await client.delete("/api/visits/orphan", headers=admin)
    assert no_before.status_code == 422
    bad_before = await client.delete(
        "/api/visits/orphan", params={"before": "yesterday"}, headers=admin
    )
    assert bad_before.status_code == 422
    assert (await client.get("/api/visits/orphan")).status_code == 401

    # Before a moment in the past: nothing goes.
    past = await client.delete("/api/visits/orphan", params={"before": "2020-01-01"}, headers=admin)
    assert past.status_code == 204
    assert (await _stats(client, admin))["total_visits"] == 1
    # Another domain's purge leaves this one's.
    response = await client.delete(
        "/api/visits/orphan",
        params={"before": "2999-01-01", "domain": "e.example"},
        headers=admin,
    )
    assert response.status_code == 204
    assert len(await _raw(app)) == 1
    response = await client.delete(
        "/api/visits/orphan",
        params={"before": "2999-01-01", "domain": "d.example"},
        headers=admin,
    )
    assert response.status_code == 204
    assert await _raw(app) == []
    assert (await _stats(client, admin))["total_visits"] == 0


async def test_owners_see_their_verified_domains_only(client, app) -> None:  # type: ignore[no-untyped-def]
    from shortener.models import Domain, User, Workspace

    admin = await make_user(client, admin=True)
    email = "owner@example.com"
    owner = await make_user(client, email=email)
    async with app.runtime.sessionmaker() as session, session.begin():
        user_id = (await session.execute(select(User.id).where(User.email == email))).scalar_one()
        personal = select(Workspace.id).where(Workspace.personal_user_id == user_id)
        workspace_id = (await session.execute(personal)).scalar_one()
        # As `shortener domain add --user` makes them (in the user's personal workspace): one
        # proven, one not yet.
        for name, proven in (("mine", True), ("unproven", False)):
            session.add(
                Domain(
                    hostname=f"{name}.example",
                    owner_id=user_id,
                    workspace_id=workspace_id,
                    verified=proven,
                    verification_token=f"token-{name}",
                )
            )
    await _domains(client, admin, "theirs.example")
    app.runtime.hosts.stale = True  # mine.example was added behind the API's back
    for host in ("mine.example", "theirs.example"):
        await client.get("/guess", headers={"Host": host, "User-Agent": ua.FIREFOX_LINUX})
    await _wait_raw(app, 2)
    assert (await _stats(client, owner, domain="mine.example"))["total_visits"] == 1
    for domain in ("theirs.example", "unproven.example", None):
        params = {"domain": domain} if domain else {}
        response = await client.get("/api/visits/orphan", params=params, headers=owner)
        assert response.status_code == 403, (domain, response.text)
    purge = await client.delete(
        "/api/visits/orphan", params={"domain": "mine.example", "before": "2999-01-01"},
        headers=owner,
    )  # fmt: skip
    assert purge.status_code == 204
    assert [r.domain for r in await _raw(app)] == ["theirs.example"]


async def test_raw_visits_follow_click_retention_and_the_rollups_stay(client, app) -> None:  # type: ignore[no-untyped-def]
    from shortener.clicks.retention import cleanup

    admin = await make_user(client, admin=True)
    now = time.time()
    recorder = app.runtime.click_recorder
    recorder.clock = lambda: now - 100 * 86_400
    await client.get("/old-guess", headers={"User-Agent": ua.FIREFOX_LINUX})
    recorder.clock = lambda: now
    await client.get("/new-guess", headers={"User-Agent": ua.FIREFOX_LINUX})
    await _wait_raw(app, 2)
    cleaned = await cleanup(app.runtime.sessionmaker, retention_days=90)
    assert cleaned.orphan_visits == 1
    assert [r.path for r in await _raw(app)] == ["/new-guess"]
    async with app.runtime.sessionmaker() as session:
        minutes = await session.execute(select(OrphanMinute.visits))
        assert list(minutes.scalars()) == [1]  # the old minute's count is gone, today's stays
    old = await _stats(client, admin, **{"from": "2020-01-01", "interval": "day"})
    assert old["total_visits"] == 2  # rollups stay


async def test_each_worker_caps_before_queueing() -> None:
    """Past the cap a visit becomes no record of its own (no hash, no queue entry): only a
    count, handed on in one tally record per domain and minute."""
    from shortener.clicks.queue import LocalQueue
    from shortener.clicks.recorder import ClickRecorder

    queue = LocalQueue()
    recorder = ClickRecorder(queue, orphans_per_minute=2, clock=lambda: 120.5)
    for i in range(5):
        recorder.record_orphan([(b"host", b"A.example:80")], "8.8.8.8", f"/{i}")
    recorder.record_orphan([(b"host", b"b.example")], "8.8.8.8", "/x")
    assert await recorder.ship(all_tallies=True) == 4
    batch = await queue.take(100)
    visits = [c for c in batch.clicks if not c.dropped]
    assert [(c.domain, c.path) for c in visits] == [
        ("a.example", "/0"),
        ("a.example", "/1"),
        ("b.example", "/x"),
    ]
    (tally,) = [c for c in batch.clicks if c.dropped]
    assert (tally.domain, tally.dropped, tally.ts) == ("a.example", 3, 120.0)
    assert all(c.link_id == 0 and c.orphan for c in batch.clicks)
