"""`shortener import` and `shortener export` against the test's database."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from collections.abc import Awaitable

from sqlalchemy import select
from sqlmodel import col

from shortener.cli import main
from shortener.config import Settings
from shortener.db import make_engine, make_sessionmaker
from shortener.models import AuditEvent
from tests.test_cli import ROOT
from tests.workspaces.helpers import email_of, make_team


def exports_recorded(settings: Settings) -> list[tuple[str | None, dict | None]]:
    """Who the audit log says exported, and how, oldest first."""

    async def read() -> list[tuple[str | None, dict | None]]:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                query = select(AuditEvent).where(col(AuditEvent.action) == "export")
                rows = (await session.execute(query.order_by(col(AuditEvent.id)))).scalars()
                return [(row.actor, row.detail) for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_import_then_export(cli_env, settings, tmp_path, capsys) -> None:
    source = tmp_path / "yourls.csv"
    source.write_text(
        "keyword,url,title,timestamp,ip,clicks\n"
        "c1,https://cli.example/1,One,2020-01-01 00:00:00,127.0.0.1,3\n"
        "c2,not a url,Two,2020-01-01 00:00:00,127.0.0.1,3\n"
        "c3,https://cli.example/3,,2020-01-01 00:00:00,127.0.0.1,3\n"
    )
    assert main(["import", str(source)]) == 1  # no account yet
    assert "no account" in capsys.readouterr().err
    cli_env("cli-one@example.com")
    assert main(["import", str(source)]) == 1  # a row had an error
    out = capsys.readouterr()
    assert "2 created, 0 skipped, 1 errors (yourls format)" in out.out
    assert "line 3: url:" in out.err

    target = tmp_path / "out.csv"
    assert main(["export", str(target)]) == 0
    rows = list(csv.DictReader(target.open(newline="")))
    assert [(r["key"], r["url"], r["title"]) for r in rows] == [
        ("c1", "https://cli.example/1", "One"),
        ("c3", "https://cli.example/3", ""),
    ]
    capsys.readouterr()
    assert main(["export"]) == 0
    assert capsys.readouterr().out.replace("\r\n", "\n") == target.read_text().replace("\r\n", "\n")
    # Both exports are in the audit log, as the API's are.
    cli = {"format": "csv", "via": "cli"}
    assert exports_recorded(settings) == [("cli-one@example.com", cli)] * 2

    # With two accounts, say whose.
    cli_env("cli-two@example.com")
    assert main(["export"]) == 1
    assert "--user" in capsys.readouterr().err
    assert main(["import", str(target), "--user", "cli-two@example.com"]) == 1
    assert "already taken" in capsys.readouterr().err
    assert main(["import", str(target), "--user", "CLI-one@example.com"]) == 0
    assert "0 created, 2 skipped, 0 errors" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "missing.csv")]) == 1
    assert main(["export", "--user", "nobody@example.com"]) == 1


def test_a_failed_export_leaves_the_file_it_would_have_replaced(cli_env, tmp_path, capsys) -> None:
    cli_env("cli-keep@example.com")
    source = tmp_path / "links.csv"
    source.write_text("url,alias\nhttps://keep.example/,kept-link\n")
    assert main(["import", str(source)]) == 0
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "backup.csv"
    target.write_text("last week's export\n")
    capsys.readouterr()
    assert main(["export", str(target), "--user", "nobody@example.com"]) == 1
    assert "no account has the email nobody@example.com" in capsys.readouterr().err
    assert target.read_text() == "last week's export\n"
    assert [p.name for p in folder.iterdir()] == ["backup.csv"]  # no temporary file left

    assert main(["export", str(target)]) == 0
    assert "kept-link" in target.read_text()
    assert [p.name for p in folder.iterdir()] == ["backup.csv"]


def test_export_into_a_closed_pipe_stops_quietly(cli_env, tmp_path) -> None:
    # `shortener export | head -1`: the reader has gone before the export ends.
    cli_env("cli-pipe@example.com")
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "shortener.cli", "export"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        os.close(write)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "BrokenPipe" not in result.stderr, result.stderr


async def test_a_team_workspace_by_its_slug(client, cli_env, tmp_path, capsys) -> None:
    team = await make_team(client)
    made = await client.post(
        "/api/links",
        json={"url": "https://team.example/1", "alias": "team-cli-1"},
        headers=team.acting("editor"),
    )
    assert made.status_code == 201, made.text
    email = {role: await email_of(client, h) for role, h in team.members.items()}
    outsider = await email_of(client, team.outsider)
    target = tmp_path / "team.csv"
    in_team = ("--workspace", team.slug)

    def shortener(*argv: str) -> Awaitable[int]:
        return asyncio.to_thread(main, list(argv))

    # Reading needs links:read (a viewer has it); the team's links, not the personal ones.
    assert await shortener("export", str(target), "--user", email["viewer"], *in_team) == 0
    assert [row["key"] for row in csv.DictReader(target.open(newline=""))] == ["team-cli-1"]
    assert await shortener("export", str(target), "--user", email["viewer"]) == 0
    assert list(csv.DictReader(target.open(newline=""))) == []

    source = tmp_path / "more.csv"
    source.write_text("url\nhttps://team.example/2\n")
    capsys.readouterr()
    # Writing needs links:write, as through the API: a viewer is told their role.
    assert await shortener("import", str(source), "--user", email["viewer"], *in_team) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"shortener: {email['viewer']}: your role in the workspace '{team.slug}' is viewer, "
        "which does not allow 'links:write'"
    )
    assert await shortener("import", str(source), "--user", email["editor"], *in_team) == 0
    assert "1 created" in capsys.readouterr().out
    listed = await client.get("/api/links", headers=team.acting("owner"))
    assert {link["url"] for link in listed.json()["items"]} == {
        "https://team.example/1",
        "https://team.example/2",
    }

    # Someone else's workspace answers as one that does not exist, as the API does.
    assert await shortener("export", "--user", outsider, *in_team) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"shortener: {outsider} is not a member of a workspace '{team.slug}'"
    )
