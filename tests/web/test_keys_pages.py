"""/dashboard/keys over HTTP (both storage modes): list, create (shown once), revoke, CSRF."""

from __future__ import annotations

import re

import httpx

from tests.web.test_pages import HTML, csrf_of, register

KEY = re.compile(r'<code id="new-key">(sk_[A-Za-z0-9_-]+)</code>')


async def _create(client: httpx.AsyncClient, name: str, scopes: list[str]) -> httpx.Response:
    """The form posted as a browser does: a key made is a 303 to the list, followed."""
    token = csrf_of(await client.get("/dashboard/keys"))
    return await client.post(
        "/dashboard/keys",
        data={"name": name, "scopes": scopes, "csrf_token": token},
        follow_redirects=True,
    )


async def test_keys_page_creates_a_working_key_shown_once_and_revokes_it(
    client: httpx.AsyncClient,
) -> None:
    await register(client)
    page = await client.get("/dashboard/keys")
    assert page.status_code == 200
    assert "No API keys yet" in page.text
    assert 'href="/dashboard/keys"' in (await client.get("/dashboard")).text

    created = await _create(client, "<b>deploy</b>", ["links:read", "stats:read"])
    assert [r.status_code for r in created.history] == [303]
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    match = KEY.search(created.text)
    assert match
    key = match.group(1)
    assert "&lt;b&gt;deploy&lt;/b&gt;" in created.text and "<b>deploy" not in created.text

    # The key works against the API with its scopes, and is never shown again.
    api = await client.get("/api/links", headers={"x-api-key": key})
    assert api.status_code == 200
    listed = await client.get("/dashboard/keys")
    assert key not in listed.text
    assert "&lt;b&gt;deploy&lt;/b&gt;" in listed.text
    assert "links:read" in listed.text and "stats:read" in listed.text
    assert "never" not in listed.text  # used once above: the last-used time is shown

    key_id = re.search(r'href="/dashboard/keys/(\d+)/revoke"', listed.text)
    assert key_id
    # The list links to a page that asks first; asking revokes nothing.
    confirm = await client.get(f"/dashboard/keys/{key_id.group(1)}/revoke")
    assert confirm.status_code == 200
    assert "Revoke the key “&lt;b&gt;deploy&lt;/b&gt;”?" in confirm.text
    assert f'action="/dashboard/keys/{key_id.group(1)}/revoke"' in confirm.text
    assert (await client.get("/api/links", headers={"x-api-key": key})).status_code == 200
    revoked = await client.post(
        f"/dashboard/keys/{key_id.group(1)}/revoke", data={"csrf_token": csrf_of(confirm)}
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/dashboard/keys"
    assert (await client.get("/api/links", headers={"x-api-key": key})).status_code == 401
    assert "No API keys yet" in (await client.get("/dashboard/keys")).text


async def test_key_form_errors_are_shown_beside_the_fields(client: httpx.AsyncClient) -> None:
    await register(client)
    refused = await _create(client, "", [])
    assert refused.status_code == 422
    assert 'id="name-error"' in refused.text
    assert 'id="scopes-error"' not in refused.text  # no box ticked: the default scopes
    unknown = await _create(client, "x", ["admin:everything"])
    assert unknown.status_code == 422
    assert 'id="scopes-error"' in unknown.text
    assert "sk_" not in unknown.text


async def test_a_key_made_with_no_box_ticked_gets_the_default_scopes(
    client: httpx.AsyncClient,
) -> None:
    await register(client)
    made = await _create(client, "deploy", [])
    assert made.status_code == 200, made.text
    key = KEY.search(made.text)
    assert key is not None
    headers = {"X-API-Key": key.group(1)}
    assert (await client.get("/api/links", headers=headers)).status_code == 200
    made_link = await client.post("/api/links", json={"url": "https://a.example"}, headers=headers)
    assert made_link.status_code == 201
    page = (await client.get("/dashboard/keys")).text
    assert "None ticked: links:read, links:write, stats:read." in page


async def test_key_forms_need_the_csrf_token(client: httpx.AsyncClient) -> None:
    await register(client)
    refused = await client.post(
        "/dashboard/keys", data={"name": "x", "scopes": ["links:read"]}, headers=HTML
    )
    assert refused.status_code == 403
    assert "sk_" not in refused.text
    created = await _create(client, "mine", ["links:read"])
    key_id = re.search(r'href="/dashboard/keys/(\d+)/revoke"', created.text)
    assert key_id
    refused = await client.post(f"/dashboard/keys/{key_id.group(1)}/revoke", headers=HTML)
    assert refused.status_code == 403
    assert "mine" in (await client.get("/dashboard/keys")).text


async def test_a_user_cannot_see_or_revoke_another_users_keys(client: httpx.AsyncClient) -> None:
    await register(client)
    created = await _create(client, "alice-key", ["links:read"])
    match = KEY.search(created.text)
    key_id = re.search(r'href="/dashboard/keys/(\d+)/revoke"', created.text)
    assert match and key_id

    client.cookies.clear()
    await register(client)
    page = await client.get("/dashboard/keys")
    assert "alice-key" not in page.text
    assert (await client.get(f"/dashboard/keys/{key_id.group(1)}/revoke")).status_code == 404
    refused = await client.post(
        f"/dashboard/keys/{key_id.group(1)}/revoke",
        data={"csrf_token": csrf_of(page)},
        headers=HTML,
    )
    assert refused.status_code == 404
    assert (
        await client.get("/api/links", headers={"x-api-key": match.group(1)})
    ).status_code == 200


async def test_keys_page_needs_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard/keys")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/dashboard/keys"


async def test_a_new_key_reaches_its_page_sealed_and_is_shown_once_to_its_maker(
    client: httpx.AsyncClient,
) -> None:
    """The form answers with a redirect (a reload of the page makes no second key); the key
    travels in the flash cookie sealed, shown on the next page only, and only to its maker."""
    await register(client)
    token = csrf_of(await client.get("/dashboard/keys"))
    posted = await client.post(
        "/dashboard/keys", data={"name": "ci", "scopes": ["links:read"], "csrf_token": token}
    )
    assert posted.status_code == 303 and posted.headers["location"] == "/dashboard/keys"
    sealed = client.cookies["flash"]

    # Altered on the way, the cookie opens to nothing (and breaks no page).
    altered = sealed[:-2] + ("AA" if sealed[-2:] != "AA" else "BB")
    client.cookies.set("flash", altered, domain="short.test")
    assert 'id="new-key"' not in (await client.get("/dashboard/keys")).text

    client.cookies.set("flash", sealed, domain="short.test")
    shown = await client.get("/dashboard/keys")
    key = KEY.search(shown.text)
    assert key, shown.text
    assert key.group(1) not in sealed and key.group(1) not in posted.headers["set-cookie"]
    again = await client.get("/dashboard/keys")
    assert key.group(1) not in again.text and again.text.count("/revoke") == 1

    # Another account in the same browser, given the cookie: nothing shown to it.
    client.cookies.clear()
    await register(client)
    client.cookies.set("flash", sealed, domain="short.test")
    other = await client.get("/dashboard/keys")
    assert 'id="new-key"' not in other.text and key.group(1) not in other.text
