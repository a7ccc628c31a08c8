"""Export, then import where the links are not: everything a link has comes back as it was,
or the row is refused with a detail saying what could not travel (a password)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests.domains.test_domains import HOST, _admin_domain
from tests.factories import make_link, make_user
from tests.transfer.test_csv import upload

EVERYTHING: dict[str, Any] = {
    "url": "https://fidelity.example/landing?utm=1",
    "title": '=Everything, "quoted"',
    "tags": ["launch", "-minus"],
    "expires_at": "2099-01-02T03:04:05Z",
    "max_clicks": 50,
    "redirect_type": 307,
    "rules": [
        {"device": "ios", "url": "https://fidelity.example/ios"},
        {"country": "DE", "language": "de", "url": "https://fidelity.example/de"},
    ],
    "variants": [
        {"url": "https://fidelity.example/a", "weight": 3},
        {"url": "https://fidelity.example/b", "weight": 1},
    ],
    "forward_query": True,
    "forward_path": True,
    "fallback_url": "https://fidelity.example/over",
    "og_title": "+Preview title",
    "og_description": "@first line\nsecond line, with a comma",
    "og_image": "https://fidelity.example/card.png",
}
# What the API answers that an import cannot restore: set by the server.
SERVER_SET = ("updated_at", "clicks", "bot_clicks", "notes")


def comparable(link: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in link.items() if k not in SERVER_SET}


async def test_every_field_survives_export_and_import(client) -> None:
    admin = await make_user(client, admin=True)
    await _admin_domain(client, admin)
    made = [
        await make_link(client, admin, alias="fid-all", **EVERYTHING),
        await make_link(client, admin, alias="fid-plain", url="https://fidelity.example/plain"),
        await make_link(client, admin, alias="fid-dom", domain=HOST, **EVERYTHING),
    ]
    await client.patch("/api/links/fid-plain", json={"is_active": False}, headers=admin)
    params = [{}, {}, {"domain": HOST}]
    before = [
        (await client.get(f"/api/links/{link['key']}", params=p, headers=admin)).json()
        for link, p in zip(made, params, strict=True)
    ]
    exported = await client.get("/api/links/export", headers=admin)
    assert exported.status_code == 200
    for cells in csv.reader(io.StringIO(exported.text)):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells), cells

    for link, p in zip(made, params, strict=True):
        gone = await client.delete(f"/api/links/{link['key']}", params=p, headers=admin)
        assert gone.status_code == 204
    imported = (await upload(client, admin, exported.text)).json()
    assert (imported["created"], imported["errors"]) == (3, []), imported
    after = [
        (await client.get(f"/api/links/{link['key']}", params=p, headers=admin)).json()
        for link, p in zip(made, params, strict=True)
    ]
    assert [comparable(link) for link in after] == [comparable(link) for link in before]

    # A second import of the same file creates nothing.
    again = (await upload(client, admin, exported.text)).json()
    assert (again["created"], again["skipped"], again["errors"]) == (0, 3, [])


async def test_a_password_protected_link_is_refused_unless_the_file_gives_one(client) -> None:
    user = await make_user(client)
    await make_link(client, user, alias="fid-secret", password="open sesame 123")
    exported = (await client.get("/api/links/export", headers=user)).text
    await client.delete("/api/links/fid-secret", headers=user)

    refused = (await upload(client, user, exported)).json()
    assert refused["created"] == 0
    (error,) = refused["errors"]
    assert error["line"] == 2
    assert error["detail"].startswith("password:"), error
    assert (await client.get("/api/links/fid-secret", headers=user)).status_code == 404

    # With the password given in a column of its own, the link is protected again.
    rows = list(csv.DictReader(io.StringIO(exported)))
    rows[0]["password"] = "open sesame 123"
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=[*rows[0]])
    writer.writeheader()
    writer.writerows(rows)
    restored = (await upload(client, user, text.getvalue())).json()
    assert (restored["created"], restored["errors"]) == (1, []), restored
    link = (await client.get("/api/links/fid-secret", headers=user)).json()
    assert link["has_password"] is True
    assert (await client.get("/fid-secret")).status_code == 200  # the password form
    wrong = await client.post("/fid-secret", data={"password": "not it at all"})
    assert wrong.status_code == 403
    right = await client.post("/fid-secret", data={"password": "open sesame 123"})
    assert right.status_code in (301, 302, 303, 307, 308)


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    return make_settings(blocked_domains="evil.example")


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([[json.dumps(c) if isinstance(c, list) else c for c in r] for r in rows])
    return text.getvalue()


async def test_imported_options_follow_the_rules_links_do(client) -> None:
    user = await make_user(client)
    ok = "https://ok.example/"
    text = csv_text(
        ["key", "url", "rules", "variants", "fallback_url", "forward_query"],
        [
            ["fo-1", ok, [{"url": "javascript:alert(1)", "device": "ios"}], "", "", ""],
            ["fo-2", ok, "", [{"url": "https://a.example/"}], "", ""],  # one arm
            ["fo-3", ok, "", "", "https://short.test/loop", ""],  # back to us
            ["fo-4", ok, "not json", "", "", ""],
            ["fo-5", ok, "", "", "", "maybe"],
            ["fo-6", ok, [{"url": ok, "os": "x"}], "", "", ""],
            ["fo-7", ok, "", [{"url": ok}, {"url": "https://www.evil.example/"}], "", ""],
            ["fo-8", ok, "", "", "https://evil.example/", ""],
        ],
    )
    body = (await upload(client, user, text)).json()
    assert body["created"] == 0, body
    details = {e["line"]: e["detail"] for e in body["errors"]}
    assert sorted(details) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert details[2].startswith("rules.0.url:"), details
    assert details[3].startswith("variants:"), details
    assert details[4].startswith("fallback_url:"), details
    assert details[5].startswith("rules:"), details
    assert details[6].startswith("forward_query:"), details
    assert details[7].startswith("rules.0"), details
    assert details[8].startswith("variants.1.url: links to evil.example"), details
    assert details[9].startswith("fallback_url: links to evil.example"), details


async def test_a_used_up_link_stays_used_up(client) -> None:
    # A one-time link already opened must not open again because it moved.
    user = await make_user(client)
    await make_link(client, user, alias="fid-once", max_clicks=2)
    await make_link(client, user, alias="fid-twice", max_clicks=2)
    assert (await client.get("/fid-once")).status_code == 302
    assert (await client.get("/fid-once")).status_code == 302
    assert (await client.get("/fid-once")).status_code == 410
    assert (await client.get("/fid-twice")).status_code == 302
    exported = (await client.get("/api/links/export", headers=user)).text
    for key in ("fid-once", "fid-twice"):
        assert (await client.delete(f"/api/links/{key}", headers=user)).status_code == 204
    imported = (await upload(client, user, exported)).json()
    assert (imported["created"], imported["errors"]) == (2, []), imported
    assert (await client.get("/fid-once")).status_code == 410
    assert (await client.get("/fid-twice")).status_code == 302  # one of two left
    assert (await client.get("/fid-twice")).status_code == 410


async def test_a_spreadsheet_of_links_with_passwords_and_options_keeps_them(client) -> None:
    # Any CSV with a URL column (not our export: no `key` column) naming the same columns.
    user = await make_user(client)
    text = csv_text(
        ["URL", "Alias", "Password", "Fallback_URL", "Variants"],
        [
            [
                "https://sheet.example/",
                "fid-sheet",
                "open sesame 123",
                "https://sheet.example/over",
                [{"url": "https://sheet.example/a"}, {"url": "https://sheet.example/b"}],
            ]
        ],
    )
    body = (await upload(client, user, text)).json()
    assert (body["format"], body["created"], body["errors"]) == ("csv", 1, []), body
    link = (await client.get("/api/links/fid-sheet", headers=user)).json()
    assert link["has_password"] is True
    assert link["fallback_url"] == "https://sheet.example/over"
    assert [v["url"] for v in link["variants"]] == [
        "https://sheet.example/a",
        "https://sheet.example/b",
    ]
