"""A domain, or a workspace, deleted while links are being created on it or in it: each
creation either comes first (the deletion then sees it) or finds nothing to create in (404),
never a 500 nor a refusal that names the wrong cause (both storage modes)."""

from __future__ import annotations

import asyncio

import httpx

from tests.factories import make_user
from tests.workspaces.helpers import new_workspace

# Several rounds: one decides nothing every time (a round in three or so lost the race on
# PostgreSQL before the fix).
ROUNDS = 6
CREATORS = 3


def _create(
    client: httpx.AsyncClient, headers: dict[str, str], alias: str, **body: str
) -> asyncio.Future[httpx.Response]:
    return asyncio.ensure_future(
        client.post(
            "/api/links",
            json={"url": "https://example.com/", "alias": alias, **body},
            headers=headers,
        )
    )


async def test_a_domain_deleted_as_links_are_created_on_it(client: httpx.AsyncClient) -> None:
    admin = await make_user(client, admin=True)
    for round_ in range(ROUNDS):
        host = f"race{round_}.example.org"
        made = await client.post(
            "/api/domains", json={"hostname": host, "verified": True}, headers=admin
        )
        assert made.status_code == 201, made.text
        deleted, *created = await asyncio.gather(
            client.delete(f"/api/domains/{made.json()['id']}", headers=admin),
            *(_create(client, admin, f"on-{round_}-{i}", domain=host) for i in range(CREATORS)),
        )
        texts = [deleted.text] + [r.text for r in created]
        if deleted.status_code == 204:
            # Gone first: nothing was created on it (a link there would have kept it).
            assert [r.status_code for r in created] == [404] * CREATORS, texts
            assert all(host in r.json()["detail"] for r in created)
        else:
            # The links came first: the domain stays, refused while they use it.
            assert deleted.status_code == 409 and "use" in deleted.json()["detail"], texts
            assert [r.status_code for r in created] == [201] * CREATORS, texts
            listed = await client.get("/api/links", params={"domain": host}, headers=admin)
            assert listed.json()["total"] == CREATORS


async def test_a_workspace_deleted_during_an_import_into_it(client: httpx.AsyncClient) -> None:
    owner = await make_user(client)
    csv = "url,key\n" + "".join(f"https://example.com/{i},row{i}\n" for i in range(50))
    for _ in range(ROUNDS):
        slug = await new_workspace(client, owner)
        imported, deleted = await asyncio.gather(
            client.post(
                "/api/links/import",
                files={"file": ("links.csv", csv, "text/csv")},
                headers={**owner, "X-Workspace": slug},
            ),
            client.delete(f"/api/workspaces/{slug}", headers=owner),
        )
        assert deleted.status_code == 204, deleted.text
        # The whole import came first (and went with the workspace), or found it gone.
        assert imported.status_code in (200, 404), imported.text
        if imported.status_code == 200:
            assert imported.json()["created"] == 50
        else:
            assert imported.json()["detail"] == "workspace not found"


async def test_one_url_shortened_with_md5_at_once_makes_one_link(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user(client)
    for round_ in range(ROUNDS):
        body = {"url": f"https://example.com/same/{round_}", "key_strategy": "md5"}
        answers = await asyncio.gather(
            *(client.post("/api/links", json=body, headers=user) for _ in range(CREATORS))
        )
        # One made it; the others were answered with it, as if they had come after.
        codes = sorted(r.status_code for r in answers)
        assert codes == [200] * (CREATORS - 1) + [201], [r.text for r in answers]
        assert len({r.json()["key"] for r in answers}) == 1
