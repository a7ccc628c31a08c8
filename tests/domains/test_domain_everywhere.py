"""A link's domain travels with it: CSV round trip, statistics, QR codes, webhooks."""

from __future__ import annotations

from typing import Any

import httpx

from tests.domains.test_domains import DEFAULT_HOST, HOST, _admin_domain
from tests.factories import make_link, make_user


async def _links(client: httpx.AsyncClient, user: dict[str, str]) -> set[tuple[str, str, str]]:
    items: list[Any] = (await client.get("/api/links", headers=user)).json()["items"]
    return {(i["domain"], i["key"], i["url"]) for i in items}


async def test_csv_export_and_import_round_trip_domains(client) -> None:
    admin = await make_user(client, admin=True)
    single = await client.get("/api/links/export", headers=admin)
    assert single.text.splitlines()[0].endswith(",clicks")  # single-domain files unchanged
    await _admin_domain(client, admin)
    await make_link(client, admin, alias="same", url="https://example.com/default")
    await make_link(client, admin, alias="same", url="https://example.com/custom", domain=HOST)
    await make_link(client, admin, alias="only", url="https://example.com/only", domain=HOST)
    before = await _links(client, admin)
    exported = await client.get("/api/links/export", headers=admin)
    lines = exported.text.splitlines()
    assert lines[0].endswith(",clicks,domain")
    assert sum(line.endswith(f",{HOST}") for line in lines) == 2
    for key, domain in (("same", None), ("same", HOST), ("only", HOST)):
        params = {"domain": domain} if domain else {}
        gone = await client.delete(f"/api/links/{key}", params=params, headers=admin)
        assert gone.status_code == 204
    imported = await client.post(
        "/api/links/import",
        files={"file": ("links.csv", exported.text, "text/csv")},
        headers=admin,
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 3
    assert await _links(client, admin) == before
    assert before == {
        (DEFAULT_HOST, "same", "https://example.com/default"),
        (HOST, "same", "https://example.com/custom"),
        (HOST, "only", "https://example.com/only"),
    }
    # The redirect finds each on its own domain again (the cache was told).
    answer = await client.get("/only", headers={"Host": HOST})
    assert answer.headers["location"] == "https://example.com/only"
    # A domain the importer may not use is a row error, not a lost file.
    user = await make_user(client)
    refused = await client.post(
        "/api/links/import",
        files={"file": ("l.csv", f"key,url,domain\nzz1,https://e.com/,{HOST}\n", "text/csv")},
        headers=user,
    )
    assert refused.json()["created"] == 0
    assert refused.json()["errors"][0]["detail"].startswith("domain:")


async def test_stats_and_qr_per_domain(client) -> None:
    admin = await make_user(client, admin=True)
    await _admin_domain(client, admin)
    await make_link(client, admin, alias="st1")
    await make_link(client, admin, alias="st1", domain=HOST)
    await make_link(client, admin, alias="st2", domain=HOST)
    everything = (await client.get("/api/stats", headers=admin)).json()
    on_domain = (await client.get("/api/stats", params={"domain": HOST}, headers=admin)).json()
    default = (
        await client.get("/api/stats", params={"domain": DEFAULT_HOST}, headers=admin)
    ).json()
    assert (everything["links"], on_domain["links"], default["links"]) == (3, 2, 1)
    link_stats = await client.get("/api/links/st2/stats", params={"domain": HOST}, headers=admin)
    assert link_stats.status_code == 200
    assert (await client.get("/api/links/st2/stats", headers=admin)).status_code == 404
    qr_custom = await client.get("/api/links/st1/qr", params={"domain": HOST}, headers=admin)
    qr_default = await client.get("/api/links/st1/qr", headers=admin)
    assert qr_custom.status_code == qr_default.status_code == 200
    assert qr_custom.content != qr_default.content  # two short URLs, two codes
