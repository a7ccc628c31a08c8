"""Each audited action writes exactly one event, in the change's own transaction (both
storage modes): a refused change leaves none, a failed sign-in is kept though it answers 401."""

from __future__ import annotations

import httpx
import pyotp

from shortener.auth.reset import reset_link
from shortener.auth.service import get_by_email
from tests.audit.helpers import actions_of, events
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, make_link, make_user, new_email, token_for

NEW_PASSWORD = "a brand new passphrase"


async def test_account_actions_each_leave_one_event(client, app) -> None:
    email = new_email()
    headers = await make_user(client, email=email)  # registers, then signs in once
    assert await actions_of(app, email) == ["auth.sign_in"]
    [signed_in] = await events(app, actor=email)
    assert signed_in.actor_id is not None and signed_in.detail == {"kind": "token"}
    assert signed_in.ip_prefix == "127.0.0.0/24"  # the test transport's peer, truncated

    secret = (await client.post("/api/auth/2fa/setup", headers=headers)).json()["secret"]
    body = {"code": pyotp.TOTP(secret).now()}
    codes = await client.post("/api/auth/2fa/enable", json=body, headers=headers)
    assert codes.status_code == 200
    off = await client.post(
        "/api/auth/2fa/disable", json={"code": codes.json()["recovery_codes"][0]}, headers=headers
    )
    assert off.status_code == 204
    assert (await actions_of(app, email))[1:] == ["auth.2fa_enabled", "auth.2fa_disabled"]

    second = {"Authorization": f"Bearer {await token_for(client, email)}"}
    sid = next(
        s["id"]
        for s in (await client.get("/api/auth/sessions", headers=second)).json()
        if s["current"]
    )
    assert (await client.delete(f"/api/auth/sessions/{sid}", headers=headers)).status_code == 204
    [revoked] = await events(app, actor=email, action="session.revoked")
    assert revoked.target == str(sid)

    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    done = await client.post("/api/users/me/password", json=change, headers=headers)
    assert done.status_code == 204
    assert len(await events(app, actor=email, action="auth.password_changed")) == 1

    async with app.runtime.sessionmaker() as session, session.begin():
        user = await get_by_email(session, email)
        assert user is not None
        link = await reset_link(session, user=user, settings=app.runtime.settings)
    token = link.rsplit("token=", 1)[1]
    body = {"token": token, "password": PASSWORD}
    assert (await client.post("/api/auth/password-reset/confirm", json=body)).status_code == 204
    assert await actions_of(app, email) == [
        "auth.sign_in",
        "auth.2fa_enabled",
        "auth.2fa_disabled",
        "auth.sign_in",
        "session.revoked",
        "auth.password_changed",
        "auth.password_reset",
    ]


async def test_a_failed_sign_in_is_kept_without_an_actor_and_with_a_prefix(app) -> None:
    email = new_email()
    for peer, prefix in (
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1:2::5", "2001:db8:1::/48"),
    ):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            if peer.startswith("203"):
                await make_user(client, email=email)
            wrong = {"username": email, "password": "not the password"}
            answer = await client.post("/api/auth/token", data=wrong)
            assert answer.status_code == 401
            unknown = {"username": "nobody-" + email, "password": "x"}
            assert (await client.post("/api/auth/token", data=unknown)).status_code == 401
        failed = await events(app, action="auth.sign_in_failed", ip_prefix=prefix)
        assert [(e.actor_id, e.actor, e.target) for e in failed] == [
            (None, None, email),  # the account's address...
            (None, None, None),  # ...never what was typed for an unknown one
        ]
        assert all(peer not in repr(e) for e in failed)


async def test_a_right_password_with_a_wrong_code_is_a_failed_sign_in(client, app) -> None:
    email = new_email()
    headers = await make_user(client, email=email)
    secret = (await client.post("/api/auth/2fa/setup", headers=headers)).json()["secret"]
    body = {"code": pyotp.TOTP(secret).now()}
    assert (
        await client.post("/api/auth/2fa/enable", json=body, headers=headers)
    ).status_code == 200
    form = {"username": email, "password": PASSWORD}
    # Without a code (as a script first tries): refused, nothing recorded.
    assert (await client.post("/api/auth/token", data=form)).status_code == 401
    assert await events(app, action="auth.sign_in_failed", target=email) == []
    wrong = await client.post("/api/auth/token", data={**form, "otp": "000000"})
    assert wrong.status_code == 401
    [failed] = await events(app, action="auth.sign_in_failed", target=email)
    assert failed.actor_id is None and failed.detail == {"step": "two-factor code"}
    assert "000000" not in repr(failed)


async def test_link_and_key_actions_and_refused_changes(client, app) -> None:
    email = new_email()
    headers = await make_user(client, email=email)
    await make_link(client, headers, alias="audited")
    taken = await client.post(
        "/api/links", json={"url": "https://a.example", "alias": "audited"}, headers=headers
    )
    assert taken.status_code == 409
    bad = await client.post("/api/links", json={"url": "not a url"}, headers=headers)
    assert bad.status_code == 422
    await make_link(client, headers, alias="other")
    clash = await client.patch("/api/links/other", json={"key": "audited"}, headers=headers)
    assert clash.status_code == 409
    patch = {"title": "T", "password": "link secret 123"}
    assert (
        await client.patch("/api/links/audited", json=patch, headers=headers)
    ).status_code == 200
    assert (await client.delete("/api/links/audited", headers=headers)).status_code == 204
    key = await client.post(
        "/api/keys", json={"name": "ci", "scopes": ["links:read"]}, headers=headers
    )
    key_id = key.json()["id"]
    assert (await client.delete(f"/api/keys/{key_id}", headers=headers)).status_code == 204

    got = [(e.action, e.target) for e in await events(app, actor=email)][1:]
    assert got == [
        ("link.created", "audited"),
        ("link.created", "other"),
        ("link.updated", "audited"),
        ("link.deleted", "audited"),
        ("apikey.created", str(key_id)),
        ("apikey.revoked", str(key_id)),
    ]
    [updated] = await events(app, actor=email, action="link.updated")
    assert updated.detail == {"fields": ["password", "title"]}


async def test_imports_exports_domains(client, app) -> None:
    email = new_email()
    headers = await make_user(client, email=email, admin=True)
    csv = b"url,key\nhttps://a.example/1,imp-one\nhttps://a.example/2,imp-two\n"
    files = {"file": ("links.csv", csv, "text/csv")}
    assert (await client.post("/api/links/import", files=files, headers=headers)).status_code == 200
    assert (await client.get("/api/links/export", headers=headers)).status_code == 200
    made = await client.post(
        "/api/domains", json={"hostname": "go.audit.example", "verified": True}, headers=headers
    )
    assert made.status_code == 201, made.text
    domain_id = made.json()["id"]
    assert (await client.delete(f"/api/domains/{domain_id}", headers=headers)).status_code == 204
    got = [(e.action, e.target, e.detail) for e in await events(app, actor=email)][1:]
    assert got == [
        ("links.imported", None, {"format": "shortener", "created": 2, "skipped": 0}),
        ("export", None, {"format": "csv"}),
        ("domain.created", "go.audit.example", None),
        ("domain.deleted", "go.audit.example", None),
    ]


async def test_deleting_an_account_keeps_its_events(client, app) -> None:
    admin = await make_user(client, admin=True)
    email = new_email()
    headers = await make_user(client, email=email)
    await make_link(client, headers, alias="kept-event")
    me = (await client.get("/api/users/me", headers=headers)).json()
    assert (await client.delete(f"/api/admin/users/{me['id']}", headers=admin)).status_code == 204
    kept = await events(app, actor=email)
    assert [(e.action, e.actor_id) for e in kept] == [
        ("auth.sign_in", None),
        ("link.created", None),
    ]


async def test_an_admin_disabling_enabling_and_deleting_an_account(client, app) -> None:
    admin_email, email = new_email(), new_email()
    admin = await make_user(client, email=admin_email, admin=True)
    await make_user(client, email=email)
    user_id = next(
        u["id"]
        for u in (await client.get(f"/api/admin/users?q={email}", headers=admin)).json()["items"]
    )
    for active in (False, False, True):  # the second is no change: nothing recorded
        body = {"is_active": active}
        r = await client.patch(f"/api/admin/users/{user_id}", json=body, headers=admin)
        assert r.status_code == 200, r.text
    assert (await client.delete(f"/api/admin/users/{user_id}", headers=admin)).status_code == 204
    done = [(e.action, e.target) for e in await events(app, actor=admin_email)]
    assert done[-3:] == [
        ("user.disabled", email),
        ("user.enabled", email),
        ("user.deleted", email),
    ]


async def test_what_is_done_in_a_shared_workspace_is_in_its_log(client, app) -> None:
    """Every event of an action taken in a workspace carries the workspace, so its owners'
    log has it: imports, exports, bulk actions, domains and keys once went without it."""
    from tests.audit.test_api import sign_in_page
    from tests.web.test_links_list import link_id
    from tests.web.test_pages import csrf_of
    from tests.workspaces.helpers import email_of, make_team

    team = await make_team(client)
    editor, admin = team.acting("editor"), team.acting("admin")
    csv = b"url,key\nhttps://a.example/1,team-imp-one\nhttps://a.example/2,team-imp-two\n"
    files = {"file": ("links.csv", csv, "text/csv")}
    assert (await client.post("/api/links/import", files=files, headers=editor)).status_code == 200
    assert (await client.get("/api/links/export", headers=editor)).status_code == 200
    body = {"name": "k", "scopes": ["links:read"]}
    key = await client.post("/api/keys", json=body, headers=editor)
    assert (await client.delete(f"/api/keys/{key.json()['id']}", headers=editor)).status_code == 204
    made = await client.post("/api/domains", json={"hostname": "go.team.example"}, headers=admin)
    assert made.status_code == 201, made.text
    domain = made.json()["id"]
    assert (await client.delete(f"/api/domains/{domain}", headers=admin)).status_code == 204
    editor_email = await email_of(client, editor)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as page:
        await sign_in_page(page, editor_email)
        dashboard = f"/w/{team.slug}/dashboard"
        form = {
            "csrf_token": csrf_of(await page.get(dashboard)),
            "action": "deactivate",
            "ids": [await link_id(client, "team-imp-one")],
        }
        assert (await page.post(f"{dashboard}/bulk", data=form)).status_code == 303

    seen = await client.get("/api/audit?limit=100", headers=team.acting("owner"))
    actions = {item["action"] for item in seen.json()["items"]}
    assert actions >= {
        "links.imported",
        "export",
        "apikey.created",
        "apikey.revoked",
        "domain.created",
        "domain.deleted",
        "links.bulk",
    }, actions
