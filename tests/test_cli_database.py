"""Issue 18, item 5: every command says which database it uses, and only `serve` and `migrate`
create a SQLite database; the others refuse a file that is not there (run from the wrong
folder, the relative default would otherwise make an empty one). A database that does not
answer, or a DATABASE_URL that is not one, is one line too, never a traceback. Real
subprocesses."""

from __future__ import annotations

import json
import os
import socket

import pytest
from sqlalchemy.engine import make_url

from shortener.cli_database import describe
from tests.test_cli import PASSWORD, ROOT
from tests.test_cli import shortener as run


@pytest.fixture
def env() -> dict[str, str]:
    """No DATABASE_URL: the default, sqlite:///./shortener.db, relative to where it runs."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "BASE_URL", "ENVIRONMENT")
        and not k.startswith(("TEST_", "PYTEST"))
    }
    clean.update(PYTHONPATH=str(ROOT), SECRET_KEY="cli-test-secret-key-that-is-long-enough")
    return clean


COMMANDS = [
    ("import", "links.csv"),
    ("export", "out.csv"),
    ("create-user", "me@example.com", "--password-stdin"),
    ("domain", "add", "go.example.com", "--shared"),
    ("cleanup",),
    ("doctor",),
    ("flush",),
]


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_command_run_elsewhere_refuses_to_create_a_database(env, tmp_path, args) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "links.csv").write_text("url\nhttps://example.com/\n")
    before = sorted(p.name for p in elsewhere.iterdir())
    result = run({**env, "REDIS_URL": "redis://127.0.0.1:1/0"}, elsewhere, *args, stdin=PASSWORD)
    assert result.returncode == 2, result.stderr
    path = elsewhere.resolve() / "shortener.db"
    lines = result.stderr.splitlines()
    assert lines[0] == f"database: SQLite {path}"
    assert lines[1].startswith(f"shortener: no database at {path}")
    assert "`shortener migrate`" in lines[1] and "DATABASE_URL" in lines[1]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert sorted(p.name for p in elsewhere.iterdir()) == before  # nothing made on disk


def test_where_the_database_is_the_same_commands_use_it(env, tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    created = run(env, home, "migrate")
    assert created.returncode == 0, created.stderr
    assert created.stderr == f"database: SQLite {home.resolve() / 'shortener.db'}\n"
    user = run(env, home, "create-user", "me@example.com", "--password-stdin", stdin=PASSWORD)
    assert user.returncode == 0, user.stderr
    assert user.stderr == f"database: SQLite {home.resolve() / 'shortener.db'}\n"
    # From elsewhere, DATABASE_URL finds it: the account is there.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env["DATABASE_URL"] = f"sqlite:///{home / 'shortener.db'}"
    again = run(env, elsewhere, "create-user", "ME@example.com", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert list(elsewhere.iterdir()) == []


def test_serve_and_migrate_create_it(env, tmp_path) -> None:
    result = run(env, tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "shortener.db").stat().st_size > 0


def test_postgresql_is_named_without_its_password(env, tmp_path, fresh_postgres_url) -> None:
    # The test server trusts local connections, so any password is accepted and never needed.
    with_password = make_url(fresh_postgres_url).set(password="not-for-your-eyes")
    env["DATABASE_URL"] = with_password.render_as_string(hide_password=False)
    result = run(env, tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    shown = with_password._replace(password=None).render_as_string(hide_password=False)
    assert result.stderr == f"database: {shown}\n"
    assert "not-for-your-eyes" not in result.stderr + result.stdout


def test_describe() -> None:
    assert describe("sqlite://") == "SQLite in memory"
    assert describe("sqlite:///:memory:") == "SQLite in memory"
    assert describe("sqlite:////srv/s.db") == "SQLite /srv/s.db"
    assert describe("postgresql://u:pw@db:5432/s") == "postgresql://u@db:5432/s"
    assert describe("postgresql+asyncpg://u@db/s") == "postgresql+asyncpg://u@db/s"


def test_with_json_logs_the_line_is_a_log_record(env, tmp_path) -> None:
    result = run({**env, "LOG_FORMAT": "json"}, tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert record["message"] == f"database: SQLite {tmp_path.resolve() / 'shortener.db'}"


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


EVERY_COMMAND = [
    ("migrate",),
    ("import", "links.csv", "--user", "me@example.com"),
    ("export", "out.csv", "--user", "me@example.com"),
    ("create-user", "me@example.com", "--password-stdin"),
    ("reset-link", "me@example.com"),
    ("domain", "add", "go.example.com", "--shared"),
    ("cleanup",),
    ("partitions",),
]


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=[c[0] for c in EVERY_COMMAND])
def test_a_database_that_does_not_answer_is_one_line(env, tmp_path, args) -> None:
    (tmp_path / "links.csv").write_text("url\nhttps://example.com/\n")
    (tmp_path / "out.csv").write_text("kept\n")
    url = f"postgresql://shortener:not-for-your-eyes@127.0.0.1:{closed_port()}/shortener"
    result = run({**env, "DATABASE_URL": url}, tmp_path, *args, stdin=PASSWORD)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("shortener: the database does not answer"), result.stderr
    assert "127.0.0.1" in last and "not-for-your-eyes" not in result.stderr
    assert (tmp_path / "out.csv").read_text() == "kept\n"  # the failed export wrote nothing


def test_a_sqlite_database_that_cannot_be_opened_is_one_line(env, tmp_path) -> None:
    # A folder where the file should be: sqlite3 cannot open it.
    (tmp_path / "links.db").mkdir()
    result = run({**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'links.db'}"}, tmp_path, "export")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("shortener: the database does not")


@pytest.mark.parametrize("url", ["not a url", "mysql://someone@db.example/links"])
def test_a_database_url_that_is_not_one_we_take_is_one_line(env, tmp_path, url) -> None:
    result = run({**env, "DATABASE_URL": url}, tmp_path, "export")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("shortener: DATABASE_URL")


def test_a_read_database_that_does_not_answer_is_one_line(env, tmp_path) -> None:
    # export reads DATABASE_READ_URL when it is set: that one may be the one that is down.
    env = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'primary.db'}"}
    assert run(env, tmp_path, "migrate").returncode == 0
    read = f"postgresql://reader:not-for-your-eyes@127.0.0.1:{closed_port()}/replica"
    result = run({**env, "DATABASE_READ_URL": read}, tmp_path, "export", "out.csv")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("shortener: the read database (DATABASE_READ_URL) does not answer")
    assert "not-for-your-eyes" not in result.stderr
    assert not (tmp_path / "out.csv").exists()
    # Commands that do not read it are not held up by it.
    made = run(
        {**env, "DATABASE_READ_URL": read},
        tmp_path,
        *("create-user", "me@example.com", "--password-stdin"),
        stdin=PASSWORD,
    )
    assert made.returncode == 0, made.stderr
