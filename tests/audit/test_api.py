"""GET /api/audit and /dashboard/audit: administrators, and a shared workspace's owners and
admins for its events; filters, pages; no secret in any event; old events go with the
retention cleanup (API and `shortener cleanup`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

import httpx
import pyotp
from sqlalchemy import select

from shortener.cli import main
from shortener.clicks.retention import cleanup
from shortener.models import AuditEvent, utcnow
from tests.audit.helpers import events
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, make_link, make_user, new_email, token_for
from tests.web.test_links_list import link_id
from tests.web.test_pages import HTML, csrf_of, register


async def test_only_admins_read_the_log(client) -> None:
    user = await make_user(client)
    assert (await client.get("/api/audit")).status_code == 401
    refused = await client.get("/api/audit", headers=user)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this needs an administrator"
    admin = await make_user(client, admin=True)
    key = await client.post(
        "/api/keys", json={"name": "k", "scopes": ["links:read"]}, headers=admin
    )
    api_key = {"X-API-Key": key.json()["key"]}
    assert (await client.get("/api/audit", headers=api_key)).status_code == 403
    assert (await client.get("/api/audit", headers=admin)).status_code == 200


async def test_filters_and_pages(client) -> None:
    admin = await make_user(client, admin=True)
    email = new_email()
    user = await make_user(client, email=email)
    for n in range(5):
        await make_link(client, user, alias=f"page-{n}")
    mine = (await client.get(f"/api/audit?actor={email}", headers=admin)).json()
    assert mine["total"] == 6  # a sign-in and five links
    first = (
        await client.get(f"/api/audit?actor={email}&action=link.created&limit=2", headers=admin)
    ).json()
    assert first["total"] == 5
    assert [i["target"] for i in first["items"]] == ["page-4", "page-3"]  # newest first
    item = first["items"][0]
    assert set(item) == {"at", "actor", "action", "target", "workspace", "detail"}
    (personal,) = (await client.get("/api/workspaces", headers=user)).json()
    assert (item["actor"], item["action"]) == (email, "link.created")
    assert item["workspace"] == personal["slug"]  # where the link was made
    rest = (
        await client.get(
            f"/api/audit?actor={email.upper()}&action=link.created&limit=2&offset=4", headers=admin
        )
    ).json()
    assert [i["target"] for i in rest["items"]] == ["page-0"]

    at = item["at"]
    after = await client.get("/api/audit", params={"from": at, "actor": email}, headers=admin)
    assert after.json()["total"] == 1
    before = await client.get("/api/audit", params={"to": at, "actor": email}, headers=admin)
    assert before.json()["total"] == 5
    backwards = await client.get("/api/audit", params={"from": at, "to": at}, headers=admin)
    assert backwards.status_code == 422
    assert "after" in str(backwards.json()["detail"])
    for bad in ("limit=0", "limit=101", "offset=-1", "from=yesterday"):
        assert (await client.get(f"/api/audit?{bad}", headers=admin)).status_code == 422, bad
    nothing = (await client.get("/api/audit?action=no.such", headers=admin)).json()
    assert nothing == {"items": [], "total": 0}


async def test_no_secret_is_ever_recorded(client, app) -> None:
    email = new_email()
    headers = await make_user(client, email=email)
    key = await client.post(
        "/api/keys", json={"name": "k", "scopes": ["links:read"]}, headers=headers
    )
    api_key = key.json()["key"]
    setup = (await client.post("/api/auth/2fa/setup", headers=headers)).json()
    code = pyotp.TOTP(setup["secret"]).now()
    codes = await client.post("/api/auth/2fa/enable", json={"code": code}, headers=headers)
    link_password = "the link's own secret"
    await make_link(client, headers, alias="secretive", password=link_password)
    change = {"current_password": PASSWORD, "new_password": "another long passphrase"}
    await client.post("/api/users/me/password", json=change, headers=headers)
    await client.post("/api/auth/token", data={"username": email, "password": "typo " + PASSWORD})
    rows = await events(app)
    assert len(rows) >= 6
    text = " ".join(repr(row.model_dump()) for row in rows)
    secrets = [
        PASSWORD,
        "another long passphrase",
        api_key,
        api_key[:12],
        setup["secret"],
        code,
        link_password,
        headers["Authorization"].split()[1],
        *codes.json()["recovery_codes"],
    ]
    for secret in secrets:
        assert secret not in text


async def test_retention_deletes_old_events(client, app) -> None:
    await make_user(client)
    now = utcnow()
    async with app.runtime.sessionmaker() as session, session.begin():
        # Younger than the app's own AUDIT_RETENTION_DAYS (365), so that its background
        # cleanup leaves them: only the call below, with fewer days, deletes one.
        session.add(AuditEvent(at=now - timedelta(days=100), action="export"))
        session.add(AuditEvent(at=now - timedelta(days=20), action="export"))
    cleaned = await cleanup(
        app.runtime.sessionmaker, retention_days=90, audit_retention_days=60, now=now
    )
    assert cleaned.audit_events == 1
    kept = await events(app, action="export")
    assert [round((now - e.at).days) for e in kept] == [20]
    # Without the setting's days nothing of the log goes (the clicks' days do not apply).
    assert (await cleanup(app.runtime.sessionmaker, retention_days=1, now=now)).audit_events == 0


async def test_shortener_cleanup_deletes_old_events(
    client, app, cli_env, monkeypatch, capsys
) -> None:
    now = utcnow()
    async with app.runtime.sessionmaker() as session, session.begin():
        session.add(AuditEvent(at=now - timedelta(days=40), action="export"))
        session.add(AuditEvent(at=now - timedelta(days=10), action="export"))
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "30")
    assert await asyncio.to_thread(main, ["cleanup"]) == 0
    assert "1 audit events older than 30 days" in capsys.readouterr().out
    async with app.runtime.sessionmaker() as session:
        left = (await session.execute(select(AuditEvent.at))).scalars().all()
    assert [(now - at).days for at in left] == [10]


async def sign_in_page(client: httpx.AsyncClient, email: str) -> None:
    token = csrf_of(await client.get("/login"))
    form = {"email": email, "password": PASSWORD, "csrf_token": token}
    assert (await client.post("/login", data=form)).status_code == 303


async def test_the_dashboard_page(client, app) -> None:
    email = await register(client)  # signed in through the pages: not an admin
    assert (await client.get("/dashboard/audit", headers=HTML)).status_code == 403
    assert 'href="/dashboard/audit"' not in (await client.get("/dashboard")).text
    # The list's bulk action is one event, however many links it touched.
    token = {"Authorization": f"Bearer {await token_for(client, email)}"}
    for n in range(3):
        await make_link(client, token, alias=f"bulk-{n}")
    ids = [await link_id(client, f"bulk-{n}") for n in range(3)]
    done = await client.post(
        "/dashboard/bulk",
        data={
            "csrf_token": csrf_of(await client.get("/dashboard")),
            "action": "deactivate",
            "ids": ids,
        },
    )
    assert done.status_code == 303
    [bulk] = await events(app, actor=email, action="links.bulk")
    assert bulk.detail == {"action": "deactivate", "count": 3}

    async with app.runtime.sessionmaker() as session, session.begin():
        yesterday_noon = datetime.combine(utcnow().date() - timedelta(days=1), time(12), UTC)
        session.add_all(
            AuditEvent(at=yesterday_noon + timedelta(seconds=n), action="export", target=f"old-{n}")
            for n in range(120)
        )
    admin_email = new_email()
    await make_user(client, email=admin_email, admin=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as admin:
        await sign_in_page(admin, admin_email)
        assert 'href="/dashboard/audit"' in (await admin.get("/dashboard")).text
        page = await admin.get("/dashboard/audit", params={"action": "export"})
        assert page.status_code == 200
        assert "120 events" in page.text and "Page 1 of 3" in page.text
        assert 'href="/dashboard/audit?action=export&amp;page=3"' in page.text
        last = await admin.get("/dashboard/audit", params={"action": "export", "page": 3})
        assert last.text.count("<code>export</code>") == 20
        assert "old-0<" in last.text and "old-119<" not in last.text
        mine = await admin.get("/dashboard/audit", params={"actor": email})
        assert "links.bulk" in mine.text and "action: deactivate; count: 3" in mine.text
        assert "127.0.0.0/24" in mine.text
        today = utcnow().date().isoformat()
        yesterday = yesterday_noon.date().isoformat()
        span = await admin.get(
            "/dashboard/audit", params={"action": "export", "from": yesterday, "to": yesterday}
        )
        assert "120 events" in span.text  # whole UTC days, `to` included
        later = await admin.get("/dashboard/audit", params={"action": "export", "from": today})
        assert "old-" not in later.text
        bad = await admin.get("/dashboard/audit", params={"from": today, "to": yesterday})
        assert bad.status_code == 422
        assert (await admin.get("/dashboard/audit?from=soon")).status_code == 422
        blank = await admin.get("/dashboard/audit?action=&actor=&from=&to=")  # the form, empty
        assert blank.status_code == 200 and "Page 1 of" in blank.text


async def test_a_shared_workspaces_owners_and_admins_read_its_own_events(client) -> None:
    from tests.workspaces.helpers import make_team

    team = await make_team(client)
    body = {"url": "https://example.com/team", "alias": "team-audited"}
    made = await client.post("/api/links", json=body, headers=team.acting("editor"))
    assert made.status_code == 201, made.text
    await make_link(client, team.outsider, alias="elsewhere-audited")  # another workspace
    for role in ("owner", "admin"):
        seen = await client.get("/api/audit?limit=100", headers=team.acting(role))
        assert seen.status_code == 200, (role, seen.text)
        items = seen.json()["items"]
        assert {i["workspace"] for i in items} == {team.slug}
        assert "team-audited" in {i["target"] for i in items}
        assert "elsewhere-audited" not in {i["target"] for i in items}
    for role in ("editor", "viewer"):
        refused = await client.get("/api/audit", headers=team.acting(role))
        assert refused.status_code == 403, role
        assert role in refused.json()["detail"]
    assert (await client.get("/api/audit", headers=team.outsider)).status_code == 403
    # A site administrator reads everything, or one workspace with X-Workspace.
    admin = await make_user(client, admin=True)
    one = await client.get("/api/audit?limit=100", headers={**admin, "X-Workspace": team.slug})
    assert {i["workspace"] for i in one.json()["items"]} == {team.slug}
    every = await client.get("/api/audit?limit=100", headers=admin)
    assert "elsewhere-audited" in {i["target"] for i in every.json()["items"]}


async def test_a_shared_workspaces_owners_and_admins_have_its_audit_page(client, app) -> None:
    """The page follows the API's rule (one rule, audit.service.public_filter): under the
    workspace's /w/{slug}/ prefix its owners and admins read its events, nobody else's."""
    from tests.workspaces.helpers import email_of, make_team

    team = await make_team(client)
    body = {"url": "https://example.com/team", "alias": "team-page-audited"}
    made = await client.post("/api/links", json=body, headers=team.acting("editor"))
    assert made.status_code == 201, made.text
    await make_link(client, team.outsider, alias="elsewhere-page-audited")
    audit_page = f"/w/{team.slug}/dashboard/audit"
    transport = httpx.ASGITransport(app=app)

    @contextlib.asynccontextmanager
    async def signed_in(headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
        email = await email_of(client, headers)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
            await sign_in_page(browser, email)
            yield browser

    for role in ("owner", "admin", "editor", "viewer"):
        async with signed_in(team.members[role]) as browser:
            workspace_page = (await browser.get(f"/w/{team.slug}/dashboard/workspace")).text
            page = await browser.get(audit_page, headers=HTML)
            if role in ("owner", "admin"):
                assert page.status_code == 200, (role, page.text)
                assert "team-page-audited<" in page.text
                assert "elsewhere-page-audited" not in page.text
                assert '<th scope="col">Workspace</th>' not in page.text  # one workspace's
                assert f'href="{audit_page}"' in workspace_page
                older = await browser.get(audit_page, params={"action": "link.created"})
                assert "team-page-audited<" in older.text
            else:
                assert page.status_code == 403, role
                assert f'href="{audit_page}"' not in workspace_page
            # Their personal workspace has no log of its own, as in the API.
            assert (await browser.get("/dashboard/audit", headers=HTML)).status_code == 403
    async with signed_in(team.outsider) as browser:
        assert (await browser.get(audit_page, headers=HTML)).status_code == 404

    # A site administrator: every workspace's events, each with its workspace; under the
    # prefix, that workspace's.
    async with signed_in(await make_user(client, admin=True)) as browser:
        every = await browser.get("/dashboard/audit", params={"action": "link.created"})
        assert '<th scope="col">Workspace</th>' in every.text
        assert "team-page-audited<" in every.text and "elsewhere-page-audited<" in every.text
        assert f"<td>{team.slug}</td>" in every.text
        one = await browser.get(audit_page, params={"action": "link.created"})
        assert "team-page-audited<" in one.text and "elsewhere-page-audited" not in one.text
