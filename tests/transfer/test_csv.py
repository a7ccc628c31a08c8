from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from shortener.transfer.formats import (
    EXPORT_COLUMNS,
    FORMULA_START,
    count_rows,
    guard_formula,
    read_csv,
    unguard,
)
from tests.factories import make_link, make_user


async def upload(client, headers, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return await client.post(
        "/api/links/import", files={"file": ("links.csv", data, "text/csv")}, headers=headers
    )


async def test_ours_imports_good_rows_and_reports_bad_ones(client) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="mine-already", url="https://same.example/")
    other = await make_user(client)
    await make_link(client, other, alias="someone-elses")
    text = (
        "key,url,title,tags,created_at,expires_at,max_clicks,redirect_type,is_active,clicks\n"
        "imp-one,https://one.example/,One,a|b,2020-01-02T03:04:05Z,,,301,true,7\n"  # 2 ok
        "imp-two,javascript:alert(1),,,,,,,,\n"  # 3 bad URL
        ",https://random.example/,,,,,,,,\n"  # 4 ok, random key
        "someone-elses,https://x.example/,,,,,,,,\n"  # 5 clash with another user
        "mine-already,https://same.example/,,,,,,,,\n"  # 6 already imported: skipped
        "imp-3,https://three.example/,,,not-a-date,,,,,\n"  # 7 bad date
        "imp-4,https://four.example/,,,,,0,,,\n"  # 8 max_clicks < 1
        "imp-5,https://five.example/,,,,,,303,,\n"  # 9 bad redirect type
        "api,https://six.example/,,,,,,,,\n"  # 10 reserved
        "imp-one,https://other.example/,,,,,,,,\n"  # 11 same key twice in the file
        "ab,https://short-key.example/,,,,,,,false,\n"  # 12 ok: a 2-character key is kept
        "\n"  # 13 blank: ignored
        "imp-7,https://short.test/loop,,,,,,,,\n"  # 14 points back at us
    )
    response = await upload(client, headers, text)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["format"] == "shortener"
    assert body["created"] == 3
    assert body["skipped"] == 1
    assert [e["line"] for e in body["errors"]] == [3, 5, 7, 8, 9, 10, 11, 14]
    details = {e["line"]: e["detail"] for e in body["errors"]}
    assert "taken" in details[5]
    assert "created_at" in details[7]
    assert "max_clicks" in details[8]
    assert "redirect_type" in details[9]
    assert "reserved" in details[10]
    assert "line 2" in details[11]

    one = (await client.get("/api/links/imp-one", headers=headers)).json()
    assert one["title"] == "One"
    assert one["tags"] == ["a", "b"]
    assert one["redirect_type"] == 301
    assert one["created_at"].startswith("2020-01-02T03:04:05")
    assert one["clicks"] == 0
    assert (await client.get("/imp-one")).status_code == 301
    assert (await client.get("/ab")).status_code == 410  # imported inactive
    listed = (await client.get("/api/links?q=random.example", headers=headers)).json()
    assert listed["total"] == 1
    assert len(listed["items"][0]["key"]) == 7


async def test_other_shorteners_exports(client) -> None:
    headers = await make_user(client)
    files = {
        "yourls": (
            "keyword,url,title,timestamp,ip,clicks\n"
            "y1,https://yourls.example/a,A page,2019-05-06 07:08:09,127.0.0.1,42\n"
        ),
        "shlink": (
            "createdAt,shortUrl,longUrl,title,tags,visits\n"
            '2021-01-01T00:00:00+02:00,https://s.example/sh1,https://shlink.example/,,"t1,t2",3\n'
        ),
        "kutt": (
            "id,address,target,description,visit_count,created_at,expire_in,link\n"
            "5,ku1,https://kutt.example/,Kutt one,0,2022-02-02T00:00:00.000Z,,https://kutt.it/ku1\n"
        ),
        "bitly": (
            "Created,Title,Long URL,Bitlink,Tags\n"
            '2023-03-03 10:00:00,Bit,https://bitly.example/,https://bit.ly/bt1,"x,y"\n'
        ),
    }
    for name, text in files.items():
        response = await upload(client, headers, text)
        assert response.status_code == 200, response.text
        assert response.json() == {"format": name, "created": 1, "skipped": 0, "errors": []}
    y1 = (await client.get("/api/links/y1", headers=headers)).json()
    assert (y1["url"], y1["title"]) == ("https://yourls.example/a", "A page")
    assert y1["created_at"].startswith("2019-05-06T07:08:09")
    sh1 = (await client.get("/api/links/sh1", headers=headers)).json()
    assert sh1["tags"] == ["t1", "t2"]
    assert sh1["created_at"].startswith("2020-12-31T22:00:00")
    ku1 = (await client.get("/api/links/ku1", headers=headers)).json()
    assert ku1["title"] == "Kutt one"
    bt1 = (await client.get("/api/links/bt1", headers=headers)).json()
    assert (bt1["url"], bt1["tags"]) == ("https://bitly.example/", ["x", "y"])


async def test_unreadable_files_are_422(client) -> None:
    headers = await make_user(client)
    for data in (b"", b"\x00\x01\x02binary", b"name,email\nx,y\n", b"\xff\xfe\x00k\x00e\x00y"):
        response = await upload(client, headers, data)
        assert response.status_code == 422, data
        assert response.json()["detail"][0]["loc"] == ["body", "file"]
    missing = await client.post("/api/links/import", headers=headers)
    assert missing.status_code == 422


async def test_export_streams_every_link_and_round_trips(client, settings, make_settings) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="exp-1", title='Comma, "quote"', tags=["a", "b"])
    await make_link(client, headers, alias="exp-2", max_clicks=5, redirect_type=308)
    other = await make_user(client)
    await make_link(client, other, alias="not-mine")

    response = await client.get("/api/links/export", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    # exp-2 has max_clicks: the redirects it granted travel with it (none yet).
    assert tuple(rows[0]) == (*EXPORT_COLUMNS, "uses")
    assert [r["uses"] for r in rows] == ["0", "0"]
    assert [r["key"] for r in rows] == ["exp-1", "exp-2"]
    assert rows[0]["title"] == 'Comma, "quote"'
    assert rows[0]["tags"] == "a|b"
    assert (rows[1]["max_clicks"], rows[1]["redirect_type"]) == ("5", "308")
    assert rows[1]["is_active"] == "true"

    # Importing the export into another account: the keys are taken (by the exporter).
    clash = await upload(client, other, response.text)
    assert [e["line"] for e in clash.json()["errors"]] == [2, 3]
    # Into the same account: all already there.
    again = (await upload(client, headers, response.text)).json()
    assert (again["created"], again["skipped"], again["errors"]) == (0, 2, [])
    # After deleting them, the import restores them as they were.
    for key in ("exp-1", "exp-2"):
        await client.delete(f"/api/links/{key}", headers=headers)
    restored = (await upload(client, headers, response.text)).json()
    assert restored["created"] == 2
    exp1 = (await client.get("/api/links/exp-1", headers=headers)).json()
    assert (exp1["title"], exp1["tags"]) == ('Comma, "quote"', ["a", "b"])
    assert (await client.get("/api/links/export")).status_code == 401


async def test_export_is_not_a_link_key(client) -> None:
    headers = await make_user(client)
    response = await client.get("/api/links/export", headers=headers)
    assert response.status_code == 200
    assert response.text.splitlines() == [",".join(EXPORT_COLUMNS)]


async def test_a_large_import_in_chunks(client) -> None:
    headers = await make_user(client)
    lines = ["url,key"] + [f"https://bulk.example/{i},k{i:05d}" for i in range(2500)]
    lines.insert(1200, "ftp://a.example/,bad-one")
    response = await upload(client, headers, "\n".join(lines) + "\n")
    body = response.json()
    assert body["created"] == 2500
    assert body["errors"] == [
        {"line": 1201, "detail": "url: only http and https URLs can be shortened"}
    ]
    assert (await client.get("/api/links", headers=headers)).json()["total"] == 2500
    assert (await client.get("/k02499")).headers["location"] == "https://bulk.example/2499"


def test_count_rows_is_how_many_rows_the_reader_yields() -> None:
    # The progress bar's total: blank lines are not rows, a quoted cell may span lines, and
    # a record the csv module cannot read is one last row (reported as an error).
    header = "key,url\n"
    for text in (
        header,
        header + "a,https://a.example/\n\n  , \nb,https://b.example/",
        header + 'c,"https://c.example/\nstill c"\r\nd,https://d.example/\r\n',
        # A cell past the csv module's size limit: it stops there.
        header + 'e,https://e.example/\nf,"' + "x" * 200_000 + '"\ng,https://g.example/\n',
    ):
        assert count_rows(text) == sum(1 for _ in read_csv(text).rows), text[:80]


@given(st.text())
def test_the_formula_guard_is_safe_and_undone_exactly(text: str) -> None:
    """Whatever a title or a tag holds: no written cell starts a formula, and our import
    reads back exactly what was there."""
    cell = guard_formula(text)
    assert isinstance(cell, str)
    assert not cell.startswith(FORMULA_START)
    assert unguard(cell) == text


def test_cells_of_other_exports_starting_with_a_quote_are_left_alone() -> None:
    for text in ("'tis", "'", "it's"):
        assert unguard(text) == text
