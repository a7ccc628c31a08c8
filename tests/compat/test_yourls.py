"""YOURLS's /yourls-api.php: real clients' requests, its answer shapes and quirks, its
three ways to sign, and bad input answered as YOURLS results with 4xx, never 5xx."""

from __future__ import annotations

import hashlib
import json
import time
import xml.etree.ElementTree as ET

import pytest

from tests.clicks.traffic import FIREFOX_LINUX
from tests.compat import clients
from tests.factories import PASSWORD, eventually, make_link, make_user, new_email, running

API = "/yourls-api.php"


async def new_key(client, headers, *scopes: str) -> str:
    body = {"name": "yourls", **({"scopes": list(scopes)} if scopes else {})}
    response = await client.post("/api/keys", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


async def yourls(client, **params: str):
    return await client.post(API, data=params)


async def test_sharex_builtin_shortener(client) -> None:
    headers = await make_user(client)
    key = await new_key(client, headers)
    profile = clients.load("yourls-sharex-builtin.json")
    response = await clients.send(
        client, profile, {"input": "https://sharex.example/a", "YOUR_SIGNATURE": key}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    short = clients.result_url(profile, response)
    assert short.startswith("http://short.test/")
    redirect = await client.get(short.removeprefix("http://short.test"))
    assert (redirect.status_code, redirect.headers["location"]) == (302, "https://sharex.example/a")


async def test_sharex_custom_uploader_profile(client) -> None:
    headers = await make_user(client)
    key = await new_key(client, headers)
    profile = clients.load("yourls.sxcu")
    values = {"input": "https://sharex.example/b", "YOUR_SIGNATURE": key}
    first = await clients.send(client, profile, values)
    assert first.status_code == 200, first.text
    short = clients.result_url(profile, first)
    # ShareX shortens the same URL again: it still gets the short URL (YOURLS's quirk).
    again = await clients.send(client, profile, values)
    assert again.status_code == 200
    assert clients.result_url(profile, again) == short
    assert again.json()["status"] == "fail" and again.json()["code"] == "error:url"


@pytest.mark.parametrize(
    ("algorithm", "order"), [("md5", "ts+token"), ("sha256", "ts+token"), ("md5", "token+ts")]
)
async def test_php_client_with_timestamped_signature(client, algorithm: str, order: str) -> None:
    headers = await make_user(client)
    await new_key(client, headers)
    tokens = (await client.get("/api/yourls/signature-tokens", headers=headers)).json()
    token = tokens[0]["signature_token"]
    timestamp = str(int(time.time()))
    data = timestamp + token if order == "ts+token" else token + timestamp
    signature = hashlib.new(algorithm, data.encode()).hexdigest()
    profile = clients.load("yourls-php-client.json")
    if algorithm != "md5":
        profile["Arguments"]["hash"] = algorithm
    values = {"input": "https://php.example/x", "keyword": "php-kw",
              "timestamp": timestamp, "signature": signature}  # fmt: skip
    response = await clients.send(client, profile, values)
    assert response.status_code == 200, response.text
    assert clients.result_url(profile, response) == "http://short.test/php-kw"
    body = response.json()
    assert body["status"] == "success" and body["statusCode"] == 200
    assert body["url"]["keyword"] == "php-kw" and body["url"]["url"] == "https://php.example/x"
    assert set(body["url"]) == {"keyword", "url", "title", "date", "ip"}
    assert body["url"]["ip"] == ""  # never an address

    # Stale, future or forged signatures are refused, in YOURLS's shape.
    stale = str(int(time.time()) - 43_300)
    for ts, sig in (
        (stale, hashlib.md5((stale + token).encode()).hexdigest()),
        (timestamp, hashlib.md5((timestamp + "x" + token).encode()).hexdigest()),
        (timestamp, signature.upper()[:-1]),
    ):
        refused = await yourls(client, action="version", format="json", timestamp=ts,
                               signature=sig)  # fmt: skip
        assert refused.status_code == 403
        assert refused.json()["errorCode"] == 403


async def test_signature_token_as_plain_signature_and_its_revocation(client) -> None:
    headers = await make_user(client)
    await new_key(client, headers)
    [entry] = (await client.get("/api/yourls/signature-tokens", headers=headers)).json()
    ok = await yourls(client, action="version", format="json", signature=entry["signature_token"])
    assert ok.status_code == 200 and ok.json()["version"]
    assert (await client.delete(f"/api/keys/{entry['key_id']}", headers=headers)).status_code == 204
    gone = await yourls(client, action="version", format="json", signature=entry["signature_token"])
    assert gone.status_code == 403
    # Tokens are shown to their owner signed in, not to a key.
    key = await new_key(client, headers)
    assert (await client.get("/api/yourls/signature-tokens",
                             headers={"X-API-Key": key})).status_code == 403  # fmt: skip


async def test_username_and_password(client) -> None:
    email = new_email()
    await make_user(client, email=email)
    ok = await yourls(client, action="shorturl", url="https://pw.example/", format="json",
                      username=email, password=PASSWORD)  # fmt: skip
    assert ok.status_code == 200 and ok.json()["status"] == "success"
    wrong = await yourls(client, action="shorturl", url="https://pw.example/", format="json",
                         username=email, password="not it")  # fmt: skip
    assert wrong.status_code == 403
    assert wrong.json() == {"message": "Invalid username or password", "errorCode": 403}
    nobody = await yourls(client, action="version", format="json")
    assert nobody.status_code == 403 and nobody.json()["message"] == "Please log in"


async def test_password_sign_in_is_rate_limited(make_settings) -> None:
    settings = make_settings(rate_limits_enabled=True, rate_limit_login_pair="2/15m")
    async with running(settings) as (_, client):
        email = new_email()
        await make_user(client, email=email)
        statuses = [
            (await yourls(client, action="version", username=email, password="wrong")).status_code
            for _ in range(3)
        ]
        assert statuses == [403, 403, 429]


async def test_shorturl_results(client) -> None:
    headers = await make_user(client)
    key = await new_key(client, headers)

    async def shorten(**params: str):
        return await yourls(client, action="shorturl", format="json", signature=key, **params)

    made = await shorten(url="https://quirk.example/", keyword="quirk", title="Quirk")
    assert made.status_code == 200
    assert made.json()["title"] == "Quirk" and made.json()["url"]["title"] == "Quirk"
    taken = await shorten(url="https://other.example/", keyword="quirk")
    assert taken.status_code == 400
    assert (taken.json()["status"], taken.json()["code"]) == ("fail", "error:keyword")
    again = await shorten(url="https://quirk.example/")
    assert again.status_code == 200  # as YOURLS 1.7: a valid request, the link in the answer
    assert again.json()["code"] == "error:url"
    assert again.json()["shorturl"] == "http://short.test/quirk"
    assert again.json()["url"]["clicks"] == 0
    for params, code in (
        ({}, "error:nourl"),
        ({"url": "https://"}, "error:nourl"),
        ({"url": "javascript:alert(1)"}, "error:nourl"),
        ({"url": "http://short.test/quirk"}, "error:noloop"),
        ({"url": "https://ok.example/", "keyword": "bad keyword!"}, "error:keyword"),
        ({"url": "https://ok.example/", "keyword": "api"}, "error:keyword"),
        ({"url": "https://ok.example/", "title": "t" * 400}, "error:invalid"),
    ):
        failed = await shorten(**params)
        assert failed.status_code == 400, (params, failed.text)
        assert failed.json()["status"] == "fail" and failed.json()["code"] == code, params
    # A key without links:write may read but not shorten.
    reader = await new_key(client, headers, "links:read")
    refused = await yourls(client, action="shorturl", url="https://r.example/", format="json",
                           signature=reader)  # fmt: skip
    assert refused.status_code == 403 and "links:write" in refused.json()["message"]


async def test_formats(client) -> None:
    headers = await make_user(client)
    key = await new_key(client, headers)
    link = await make_link(client, headers, url="https://fmt.example/?a=1&b=<2>", alias="fmt")
    xml = await yourls(client, action="expand", shorturl="fmt", signature=key)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(xml.text)
    assert root.tag == "result"
    assert root.findtext("longurl") == link["url"]
    assert root.findtext("shorturl") == "http://short.test/fmt"
    jsonp = await yourls(client, action="expand", shorturl="http://short.test/fmt",
                         format="jsonp", callback="cb.done_1", signature=key)  # fmt: skip
    assert jsonp.headers["content-type"].startswith("application/javascript")
    assert jsonp.text.startswith("cb.done_1(") and jsonp.text.endswith(")")
    assert json.loads(jsonp.text[len("cb.done_1(") : -1])["longurl"] == link["url"]
    simple = await yourls(client, action="expand", shorturl="fmt", format="simple", signature=key)
    assert simple.text == link["url"]
    unknown = await yourls(client, action="expand", shorturl="fmt", format="yaml", signature=key)
    assert unknown.text == link["url"]  # YOURLS answers an unknown format as simple
    for callback in ("alert(1)//", "a b", "x" * 101, "<script>"):
        bad = await yourls(client, action="version", format="jsonp", callback=callback,
                           signature=key)  # fmt: skip
        assert bad.status_code == 400 and callback not in bad.text


async def test_expand_and_stats(client, app) -> None:
    headers = await make_user(client)
    key = await new_key(client, headers)
    for n, alias in enumerate(("s-one", "s-two", "s-three")):
        await make_link(client, headers, url=f"https://stats.example/{n}", alias=alias)
    person = {"User-Agent": FIREFOX_LINUX}  # clicks count people (bots apart)
    for _ in range(2):
        assert (await client.get("/s-two", headers=person)).status_code == 302
    await client.get("/s-three", headers=person)

    async def counted() -> bool:
        r = await yourls(client, action="db-stats", format="json", signature=key)
        return bool(r.json()["db-stats"]["total_clicks"] == 3)

    await eventually(counted)
    db = await yourls(client, action="db-stats", format="json", signature=key)
    assert db.json() == {"db-stats": {"total_links": 3, "total_clicks": 3}, "statusCode": 200,
                         "message": "success"}  # fmt: skip

    url_stats = (await yourls(client, action="url-stats", shorturl="s-two", format="json",
                              signature=key)).json()  # fmt: skip
    assert url_stats["link"] | {"timestamp": None} == {
        "shorturl": "http://short.test/s-two", "url": "https://stats.example/1", "title": "",
        "timestamp": None, "ip": "", "clicks": 2,
    }  # fmt: skip

    async def stats(**params: str) -> dict:
        r = await yourls(client, action="stats", format="json", signature=key, **params)
        assert r.status_code == 200
        return dict(r.json())

    top = await stats(filter="top", limit="2")
    assert list(top["links"]) == ["link_1", "link_2"]
    assert [v["shorturl"][-5:] for v in top["links"].values()] == ["s-two", "three"]
    assert top["stats"] == {"total_links": 3, "total_clicks": 3}
    bottom = await stats(filter="bottom", limit="1")
    assert bottom["links"]["link_1"]["shorturl"].endswith("/s-one")
    last = await stats(filter="last", limit="5")
    assert len(last["links"]) == 3
    assert len((await stats(filter="rand", limit="3"))["links"]) == 3
    assert "links" not in await stats(limit="0")
    assert len((await stats(limit="nonsense"))["links"]) == 3  # PHP's intval: the default

    # Another user's links do not exist for this key.
    other = await make_user(client)
    await make_link(client, other, url="https://theirs.example/", alias="theirs")
    missing = await yourls(client, action="expand", shorturl="theirs", format="json",
                           signature=key)  # fmt: skip
    assert missing.status_code == 404 and missing.json()["message"] == "Error: short URL not found"
    missing = await yourls(client, action="url-stats", shorturl="theirs", format="json",
                           signature=key)  # fmt: skip
    assert missing.status_code == 404
    version = await yourls(client, action="version", db="1", format="json", signature=key)
    assert set(version.json()) == {"version", "db_version"}


async def test_bad_input_is_a_yourls_4xx(client) -> None:
    headers = await make_user(client)
    key = await new_key(client, headers)
    hostile = ["a\x00b", "x" * 20_000, "%00", "😀", "²", "١٢", " ", "[]"]
    for action in ("shorturl", "expand", "url-stats", "stats", "db-stats", "version", "nope"):
        for value in hostile:
            for name in ("url", "keyword", "title", "shorturl", "filter", "limit", "format",
                         "callback", "hash", "timestamp"):  # fmt: skip
                params = {"action": action, "signature": key, name: value}
                response = await client.get(API, params=params)
                assert response.status_code < 500, (action, name, repr(value), response.text)
    for value in hostile:
        for name in ("signature", "username", "password", "timestamp"):
            params = {"action": "version", "password": "p", "signature": value, name: value}
            response = await client.get(API, params=params)
            assert 400 <= response.status_code < 500
    # Bytes that are not UTF-8, in the query string and in a form body.
    raw = await client.get(API + "?action=shorturl&url=%FF%FE&keyword=%C0&signature=" + key)
    assert 400 <= raw.status_code < 500
    raw = await client.post(
        API, content=b"action=shorturl&url=%FF&signature=" + key.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert 400 <= raw.status_code < 500
    broken = await client.post(
        API, content=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert 400 <= broken.status_code < 500
    unknown = await yourls(client, action="nope", format="json", signature=key)
    assert unknown.status_code == 400
    assert unknown.json()["message"] == 'Unknown or missing "action" parameter'
    # A short URL with a NUL, an empty keyword, or a key of the wrong shape: not found.
    for shorturl in ("a\x00", "", "http://short.test/"):
        r = await yourls(client, action="expand", shorturl=shorturl, format="json", signature=key)
        assert r.status_code == 404, (shorturl, r.text)


async def test_dashboard_shows_each_keys_signature_token(client) -> None:
    import re

    from tests.web.test_pages import csrf_of, register

    await register(client)
    page = await client.get("/dashboard/keys")
    created = await client.post(
        "/dashboard/keys", data={"name": "wp", "scopes": [], "csrf_token": csrf_of(page)}
    )
    assert created.status_code == 303 and created.headers["location"] == "/dashboard/keys"
    listed = await client.get("/dashboard/keys")
    assert listed.headers["cache-control"] == "no-store"
    [token] = re.findall(r'<code class="yourls-token">([0-9a-f]{32})</code>', listed.text)
    ok = await yourls(client, action="version", format="json", signature=token)
    assert ok.status_code == 200


async def test_links_on_a_custom_domain(client) -> None:
    """A link's short URL is on its own domain in every answer; `shorturl` finds a link by its
    whole short URL on any domain of the workspace's, the keyword alone on the default one."""
    admin = await make_user(client, admin=True)
    added = await client.post(
        "/api/domains", json={"hostname": "go.example.test", "verified": True}, headers=admin
    )
    assert added.status_code == 201, added.text
    key = await new_key(client, admin)
    await make_link(
        client, admin, url="https://dom.example/c", alias="cdom", domain="go.example.test"
    )
    await make_link(client, admin, url="https://dom.example/d", alias="cdom")
    custom = "http://go.example.test/cdom"

    # "Already shortened" is a link on the default domain, where YOURLS's links are made.
    made = await yourls(client, action="shorturl", url="https://dom.example/c", format="json",
                        signature=key)  # fmt: skip
    assert made.json()["status"] == "success"
    assert made.json()["shorturl"].startswith("http://short.test/")

    async def ask(action: str, shorturl: str) -> dict:
        r = await yourls(client, action=action, shorturl=shorturl, format="json", signature=key)
        return dict(r.json()) | {"status": r.status_code}

    there = await ask("expand", custom)
    assert (there["status"], there["shorturl"], there["longurl"]) == (
        200, custom, "https://dom.example/c"
    )  # fmt: skip
    assert (await ask("expand", "http://go.example.test:8080/cdom"))["shorturl"] == custom
    assert (await ask("expand", "cdom"))["longurl"] == "https://dom.example/d"
    assert (await ask("expand", "http://short.test/cdom"))["longurl"] == "https://dom.example/d"
    stats = await ask("url-stats", custom)
    assert (stats["status"], stats["link"]["shorturl"]) == (200, custom)
    for unknown in ("http://elsewhere.example/cdom", "https://bad host/cdom"):
        assert (await ask("expand", unknown))["status"] == 404, unknown
    listed = await yourls(client, action="stats", filter="last", limit="10", format="json",
                          signature=key)  # fmt: skip
    urls = {v["shorturl"] for v in listed.json()["links"].values()}
    assert custom in urls and "http://short.test/cdom" in urls


async def test_x_workspace_names_where_the_call_acts(client) -> None:
    """As on every workspace-scoped route: a member's password acts in the workspace named, a
    workspace they are not in is not found, and a key only ever acts in its own."""
    email = new_email()
    headers = await make_user(client, email=email)
    team = await client.post(
        "/api/workspaces", json={"name": "Team", "slug": "yourls-team"}, headers=headers
    )
    assert team.status_code == 201, team.text
    signed = {"username": email, "password": PASSWORD, "format": "json"}

    async def shorten(url: str, workspace: str) -> dict:
        r = await client.post(API, data={**signed, "action": "shorturl", "url": url},
                              headers={"X-Workspace": workspace})  # fmt: skip
        return dict(r.json()) | {"http": r.status_code}

    made = await shorten("https://team.example/1", "yourls-team")
    assert made["status"] == "success", made
    in_team = await client.get("/api/links", headers={**headers, "X-Workspace": "yourls-team"})
    assert [i["url"] for i in in_team.json()["items"]] == ["https://team.example/1"]
    personal = await client.get("/api/links", headers=headers)
    assert personal.json()["items"] == []
    nowhere = await shorten("https://team.example/2", "not-a-workspace")
    assert (nowhere["http"], nowhere["errorCode"]) == (404, 404), nowhere
    key = await new_key(client, headers)  # made in the personal workspace
    refused = await client.post(
        API,
        data={"signature": key, "action": "shorturl", "url": "https://team.example/3",
              "format": "json"},
        headers={"X-Workspace": "yourls-team"},
    )  # fmt: skip
    assert refused.status_code == 404, refused.text
