"""One URL parser (WHATWG, as browsers read URLs) for storage, the blocklist, the loop check
and the Location header: hostile spellings cannot make the check see one host and a browser
visit another.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from shortener.models import Link
from tests.factories import make_link, make_user, running

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    # BASE_URL is http://short.test (tests/conftest.py).
    return make_settings(blocked_domains="evil.com, 10.9.8.7")


# Each URL with what must happen: ("stored", href) is accepted, stored and answered as href;
# ("blocked", entry) is refused by that blocklist entry; ("loop",) is refused as a link back to
# this service; ("bad", words) is refused as malformed with `words` in the detail.
TABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    # The host a browser visits is the one the blocklist sees.
    "backslash userinfo trick": ("https://evil.com\\@good.com/", ("blocked", "evil.com")),
    "percent-encoded dot": ("https://evil%2ecom/", ("blocked", "evil.com")),
    "percent-encoded letter": ("https://%65vil.com/", ("blocked", "evil.com")),
    "percent-encoded subdomain": ("https://www.evil%2Ecom/x", ("blocked", "evil.com")),
    "fullwidth dot": ("https://evil\uff0ecom/", ("blocked", "evil.com")),
    "fullwidth letters": ("https://\uff25\uff36\uff29\uff2c.com/", ("blocked", "evil.com")),
    "ideographic dot": ("https://evil\u3002com/", ("blocked", "evil.com")),
    "userinfo trick": ("https://good.com@evil.com/", ("blocked", "evil.com")),
    "upper case, trailing dot, port": ("http://EVIL.COM.:8080/", ("blocked", "evil.com")),
    "blocked IP as a number": ("http://168364039/", ("blocked", "10.9.8.7")),
    "blocked IP in hex": ("http://0x0a090807/", ("blocked", "10.9.8.7")),
    "blocked IP in octal parts": ("http://012.011.010.07/", ("blocked", "10.9.8.7")),
    "blocked IP, IPv4-mapped": ("http://[::ffff:10.9.8.7]/", ("blocked", "10.9.8.7")),
    # Our own host name in any spelling, on any port, loops.
    "own host, upper case, dot": ("http://SHORT.TEST./x", ("loop",)),
    "own host, percent-encoded": ("https://short%2etest/x", ("loop",)),
    "own host, fullwidth dot": ("https://short\uff0etest/x", ("loop",)),
    "own host, another port": ("http://short.test:8443/x", ("loop",)),
    # Accepted, and stored as the browser will request it.
    "IDNA 2008: sharp s kept": ("https://straße.de/x", ("stored", "https://xn--strae-oqa.de/x")),
    "IDN, upper case": (
        "https://BÜCHER.example/ü",
        ("stored", "https://xn--bcher-kva.example/%C3%BC"),
    ),
    "punycode, upper case": ("https://XN--STRAE-OQA.DE/", ("stored", "https://xn--strae-oqa.de/")),
    "scheme and host case": ("HTTPS://Good.COM/Path", ("stored", "https://good.com/Path")),
    "default port dropped": ("https://good.com:443/a", ("stored", "https://good.com/a")),
    "backslash in a path": ("https://good.com/a\\b", ("stored", "https://good.com/a/b")),
    "backslash after host": ("https://good.com\\evil.com", ("stored", "https://good.com/evil.com")),
    "trailing dot kept": ("https://good.com./", ("stored", "https://good.com./")),
    "private address (intranet)": ("http://10.0.0.1/wiki", ("stored", "http://10.0.0.1/wiki")),
    "private IPv4 in hex": ("http://0xC0.0xA8.1.1/", ("stored", "http://192.168.1.1/")),
    "IPv6 compressed": ("http://[2001:DB8:0::1]:81/", ("stored", "http://[2001:db8::1]:81/")),
    "similar to ours": ("https://short.test.example/", ("stored", "https://short.test.example/")),
    # Refused outright, with a reason.
    "tab inside the host": ("https://ev\til.com/", ("bad", "control characters")),
    "newline inside the path": ("https://good.com/a\nb", ("bad", "control characters")),
    "IPv6 zone id": ("http://[fe80::1%25eth0]/", ("bad", "malformed")),
    "five numeric labels": ("http://1.2.3.4.5/", ("bad", "malformed")),
    "IPv4 out of range": ("http://256.0.0.1/", ("bad", "malformed")),
    "port too big": ("http://good.com:65536/", ("bad", "malformed")),
    "forbidden host character": ("http://go<od.com/", ("bad", "malformed")),
    "no slashes": ("http:good.com", ("bad", "http://")),
    "backslashes for slashes": ("https:\\\\evil.com/", ("bad", "http://")),
    "three slashes": ("https:///evil.com/", ("bad", "http://")),
}


@pytest.mark.parametrize(("url", "expected"), TABLE.values(), ids=TABLE.keys())
async def test_hostile_spellings(
    client: httpx.AsyncClient, url: str, expected: tuple[str, ...]
) -> None:
    headers = await make_user(client)
    r = await client.post("/api/links", json={"url": url}, headers=headers)
    outcome = expected[0]
    if outcome == "stored":
        assert r.status_code == 201, r.text
        assert r.json()["url"] == expected[1]
        answer = await client.get(f"/{r.json()['key']}")
        assert answer.status_code == 302
        assert answer.headers["location"] == expected[1]
        return
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["body", "url"]
    if outcome == "blocked":
        assert f"links to {expected[1]} " in detail["msg"]
    elif outcome == "loop":
        assert "point back at this service" in detail["msg"]
    else:
        assert expected[1] in detail["msg"]


async def test_every_url_field_goes_through_the_parser(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    refused = {
        "rules.0.url": {"rules": [{"device": "ios", "url": "https://%65vil.com/"}]},
        "variants.1.url": {
            "variants": [{"url": "https://ok.example/"}, {"url": "http://SHORT%2etest/"}]
        },
        "fallback_url": {"fallback_url": "https://evil\uff0ecom/after"},
        "og_image": {"og_image": "https://ok.example:99999/i.png"},
    }
    for field, extra in refused.items():
        r = await client.post(
            "/api/links", json={"url": "https://ok.example/", **extra}, headers=headers
        )
        assert r.status_code == 422, (field, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", field]

    link = await make_link(
        client,
        headers,
        url="https://ok.example/",
        rules=[{"device": "ios", "url": "https://straße.de/ios"}],
        variants=[{"url": "HTTPS://A.example"}, {"url": "https://b.example:443/"}],
        fallback_url="https://BÜCHER.example/gone",
        og_image="https://straße.de/i.png",
    )
    assert [r["url"] for r in link["rules"]] == ["https://xn--strae-oqa.de/ios"]
    assert [v["url"] for v in link["variants"]] == ["https://a.example/", "https://b.example/"]
    assert link["fallback_url"] == "https://xn--bcher-kva.example/gone"
    assert link["og_image"] == "https://xn--strae-oqa.de/i.png"
    answer = await client.get(f"/{link['key']}", headers={"user-agent": IPHONE})
    assert answer.headers["location"] == "https://xn--strae-oqa.de/ios"

    # Changing the URL goes through the same parser.
    r = await client.patch(
        f"/api/links/{link['key']}", json={"url": "https://evil%2ecom/"}, headers=headers
    )
    assert r.status_code == 422 and "evil.com" in r.json()["detail"][0]["msg"]
    r = await client.patch(
        f"/api/links/{link['key']}", json={"url": "https://Straße.de"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["url"] == "https://xn--strae-oqa.de/"


async def test_the_import_stores_what_the_api_stores(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    csv = "url,key\nhttps://straße.de/x,sharp-s\nhttp://short%2etest:8080/,loopy\n"
    r = await client.post(
        "/api/links/import", files={"file": ("links.csv", csv, "text/csv")}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    assert [e["line"] for e in r.json()["errors"]] == [3]
    assert "point back" in r.json()["errors"][0]["detail"]
    stored = await client.get("/api/links/sharp-s", headers=headers)
    assert stored.json()["url"] == "https://xn--strae-oqa.de/x"


async def test_rows_stored_before_normalisation_redirect_where_browsers_go(
    client: httpx.AsyncClient,
) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers)
    app = client._transport.app  # type: ignore[attr-defined]
    async with app.runtime.sessionmaker() as session, session.begin():
        row = (await session.execute(select(Link).where(col(Link.key) == link["key"]))).scalar_one()
        row.url = "https://straße.de/ä b"  # as the old check let it be stored
    await app.runtime.link_cache.invalidate(link["key"])
    r = await client.get(f"/{link['key']}")
    assert r.headers["location"] == "https://xn--strae-oqa.de/%C3%A4%20b"


async def test_blocklist_entries_are_canonical_hosts(client: httpx.AsyncClient) -> None:
    admin = await make_user(client, admin=True)
    user = await make_user(client)
    entries = {"straße.de": "xn--strae-oqa.de", "Phish\uff0eexample": "phish.example"}
    entries["0x0b000001"] = "11.0.0.1"
    for given, canonical in entries.items():
        r = await client.post("/api/admin/blocklist", json={"domain": given}, headers=admin)
        assert r.status_code == 201, r.text
        assert r.json()["domain"] == canonical
    for url, entry in [
        ("https://www.straße.de/", "xn--strae-oqa.de"),
        ("https://phish%2eexample/", "phish.example"),
        ("http://184549377/", "11.0.0.1"),
        ("http://[64:ff9b::b00:1]/", "11.0.0.1"),
    ]:
        r = await client.post("/api/links", json={"url": url}, headers=user)
        assert r.status_code == 422, (url, r.text)
        assert entry in r.json()["detail"][0]["msg"]
    # IDNA 2003 would fold straße.de into strasse.de: a different domain, not blocked.
    r = await client.post("/api/links", json={"url": "https://strasse.de/"}, headers=user)
    assert r.status_code == 201, r.text
    for bad in ["evil.com/path", "user@evil.com", "evil.com:80", "exa mple.com"]:
        r = await client.post("/api/admin/blocklist", json={"domain": bad}, headers=admin)
        assert r.status_code == 422, (bad, r.text)


# Where the service is reached at an address of this machine (BASE_URL http://127.0.0.1:8000,
# the embedded default), every spelling of this machine on that port loops.
ON_THIS_MACHINE = "http://127.0.0.1:8000"
LOCAL_LOOPS = [
    "http://localhost/",
    "http://LOCALHOST./x",
    "http://app.localhost:3000/",
    "http://[::1]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://127.0.0.%31/",
    "http://127.45.6.7:8000/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::7f00:1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://0.0.0.0/",
    "http://0/",
]


async def test_every_spelling_of_this_machine_on_our_port_loops(make_settings) -> None:  # type: ignore[no-untyped-def]
    async with running(make_settings(base_url=ON_THIS_MACHINE)) as (_app, client):
        headers = await make_user(client)
        for spelling in LOCAL_LOOPS:
            url = _on_port(spelling, 8000)
            r = await client.post("/api/links", json={"url": url}, headers=headers)
            assert r.status_code == 422, (url, r.text)
            assert "point back at this service" in r.json()["detail"][0]["msg"], url
        # A program on another port of this machine is not us (a local site under test).
        for url in ("http://localhost:3000/", "http://127.0.0.1:9999/x", "http://[::1]:81/"):
            r = await client.post("/api/links", json={"url": url}, headers=headers)
            assert r.status_code == 201, (url, r.text)


async def test_a_public_service_does_not_count_a_visitors_own_machine_as_itself(
    client: httpx.AsyncClient,
) -> None:
    # BASE_URL is http://short.test: localhost sends a visitor to their own machine, not here.
    headers = await make_user(client)
    for url in ("http://localhost/", "http://[::1]/", "http://0x7f000001/"):
        r = await client.post("/api/links", json={"url": url}, headers=headers)
        assert r.status_code == 201, (url, r.text)


def _on_port(url: str, port: int) -> str:
    """`url` with its port set to `port` (written explicitly)."""
    scheme, rest = url.split("://", 1)
    host, slash, path = rest.partition("/")
    if host.startswith("["):
        host = host[: host.index("]") + 1]
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return f"{scheme}://{host}:{port}{slash}{path}"
