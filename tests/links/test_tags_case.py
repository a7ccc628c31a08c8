"""Tags ignore case: `Dev` and `dev` are one tag, kept lower-cased; filters match any case."""

from __future__ import annotations

from tests.factories import make_link, make_user


async def test_spellings_of_one_tag_are_one_tag(client) -> None:
    headers = await make_user(client)
    first = await make_link(client, headers, tags=["Dev", "dev", " DEV ", "Ops"])
    assert first["tags"] == ["dev", "ops"]
    await make_link(client, headers, tags=["dEv"])
    changed = await client.patch(
        f"/api/links/{first['key']}", json={"tags": ["OPS", "Misc"]}, headers=headers
    )
    assert changed.json()["tags"] == ["misc", "ops"]

    for asked in ("DEV", "dev", "Dev"):
        page = (await client.get("/api/links", params={"tag": asked}, headers=headers)).json()
        assert page["total"] == 1, asked  # the second link; the first lost `dev` above
    page = (await client.get("/api/links", params={"tag": "Ops"}, headers=headers)).json()
    assert [item["key"] for item in page["items"]] == [first["key"]]


async def test_a_second_spelling_does_not_make_a_second_tag_across_links(client) -> None:
    headers = await make_user(client)
    await make_link(client, headers, tags=["Work"])
    await make_link(client, headers, tags=["work"])
    await make_link(client, headers, tags=["WORK", "home"])
    page = (await client.get("/api/links", params={"tag": "wOrK"}, headers=headers)).json()
    assert page["total"] == 3
    assert {tuple(item["tags"]) for item in page["items"]} == {("work",), ("home", "work")}
