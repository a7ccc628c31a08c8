"""The `shortener` console script, run as a real subprocess."""

from __future__ import annotations

import importlib.metadata
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shortener.cli import HANDLERS
from shortener.cli_parser import build_parser
from tests.conftest import LIVE_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long enough password"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BASE_URL", "ENVIRONMENT")
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        SECRET_KEY="cli-test-secret-key-that-is-long-enough",
        CLICK_FLUSH_INTERVAL="0.1",
    )
    return env


@pytest.fixture
def migrated(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """cli_env with its database created: only serve and migrate create one."""
    assert shortener(cli_env, tmp_path, "migrate").returncode == 0
    return cli_env


def shortener(
    env: dict[str, str], cwd: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shortener.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def test_migrate(cli_env, tmp_path) -> None:
    result = shortener(cli_env, tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "cli.db").execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        )
    }
    assert {"users", "links", "link_tags", "clicks", "alembic_version"} <= tables


def test_commands_are_quiet_by_default_and_say_more_with_v(cli_env, tmp_path) -> None:
    quiet = shortener(cli_env, tmp_path, "migrate")
    assert quiet.returncode == 0, quiet.stderr
    # No "INFO alembic...: Context impl SQLiteImpl." lines: only which database it uses.
    assert quiet.stderr == f"database: SQLite {tmp_path / 'cli.db'}\n"
    assert quiet.stdout.startswith("database at revision")
    cli_env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'other.db'}"
    verbose = shortener(cli_env, tmp_path, "-v", "migrate")
    assert verbose.returncode == 0, verbose.stderr
    assert "Running upgrade" in verbose.stderr


def test_help_describes_the_tool_and_every_command_shows_examples(cli_env, tmp_path) -> None:
    top = shortener(cli_env, tmp_path, "--help")
    assert top.returncode == 0
    assert "console script" not in top.stdout
    assert "self-hosted URL shortener" in top.stdout
    assert "--version" in top.stdout and "--verbose" in top.stdout
    commands = ["serve", "flush", "migrate", "doctor", "cleanup", "create-user", "import"]
    for command in [*commands, "export"]:
        assert command in top.stdout
        page = shortener(cli_env, tmp_path, command, "--help")
        assert page.returncode == 0, command
        examples = page.stdout.split("examples:\n", 1)
        assert len(examples) == 2, command
        assert f"shortener {command}" in examples[1], command


def test_version_is_the_installed_distributions(cli_env, tmp_path) -> None:
    result = shortener(cli_env, tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"shortener {importlib.metadata.version('shortener')}"


def test_create_user_admin_can_sign_in(migrated, tmp_path, make_settings) -> None:
    result = shortener(
        migrated,
        tmp_path,
        "create-user",
        "Boss@Example.com",
        "--admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "boss@example.com" in result.stdout

    async def check() -> None:
        from shortener.main import create_app

        settings = make_settings(database_url=migrated["DATABASE_URL"], redis_url=None)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                token = await client.post(
                    "/api/auth/token", data={"username": "boss@example.com", "password": PASSWORD}
                )
                assert token.status_code == 200, token.text
                me = await client.get(
                    "/api/users/me",
                    headers={"Authorization": f"Bearer {token.json()['access_token']}"},
                )
                assert me.json()["is_admin"] is True

    import asyncio

    asyncio.run(check())


def test_create_user_twice_fails_with_a_message(migrated, tmp_path) -> None:
    first = shortener(
        migrated, tmp_path, "create-user", "dup@example.com", "--password-stdin", stdin=PASSWORD
    )
    assert first.returncode == 0, first.stderr
    again = shortener(
        migrated, tmp_path, "create-user", "DUP@example.com", "--password-stdin", stdin=PASSWORD
    )
    assert again.returncode != 0
    assert "already exists" in again.stderr


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [("short@example.com", "short", "password"), ("not-an-email", PASSWORD, "email")],
)
def test_create_user_refuses_bad_input(migrated, tmp_path, email, password, message) -> None:
    result = shortener(migrated, tmp_path, "create-user", email, "--password-stdin", stdin=password)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_secret_key_refuses_to_start(cli_env, tmp_path) -> None:
    env = {**cli_env, "ENVIRONMENT": "production"}
    env.pop("SECRET_KEY")
    result = shortener(env, tmp_path, "migrate")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_and_drains_clicks_on_sigterm(cli_env, tmp_path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**cli_env, "BASE_URL": base, "CLICK_FLUSH_INTERVAL": "3600"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shortener.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)

        with httpx.Client(base_url=base, timeout=LIVE_TIMEOUT) as http:
            assert http.get("/readyz").status_code == 200
            email = "served@example.com"
            assert (
                http.post("/api/auth/register", json={"email": email, "password": PASSWORD})
            ).status_code == 201
            token = http.post("/api/auth/token", data={"username": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            link = http.post(
                "/api/links", json={"url": "https://example.com/served"}, headers=headers
            ).json()
            assert link["short_url"] == f"{base}/{link['key']}"
            followed = http.get(f"/{link['key']}")
            assert followed.status_code == 302
            assert followed.headers["location"] == "https://example.com/served"
            # The flush interval is an hour: the click can only reach the database at shutdown.
            assert http.get(f"/api/links/{link['key']}", headers=headers).json()["clicks"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, output
    db = sqlite3.connect(tmp_path / "cli.db")
    # The test client is a bot by its user agent: its click is in bot_clicks.
    sql = "SELECT clicks + bot_clicks FROM links WHERE key = ?"
    clicks = db.execute(sql, (link["key"],)).fetchone()[0]
    assert clicks == 1
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 1


def test_migrate_postgres(cli_env, tmp_path, fresh_postgres_url) -> None:
    env = {**cli_env, "DATABASE_URL": fresh_postgres_url}
    result = shortener(env, tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout
    again = shortener(env, tmp_path, "migrate")
    assert again.returncode == 0, again.stderr


def test_base_url_follows_the_served_port_when_unset() -> None:
    """Issue 18, item 4: `serve --port 8765` prints links on 8765, not 8000."""
    from shortener.config import Settings, derived_base_url
    from shortener.doctor import check_base_url

    unset = Settings(_env_file=None)  # type: ignore[call-arg]
    assert derived_base_url(unset, "127.0.0.1", 8765) == "http://127.0.0.1:8765"
    assert derived_base_url(unset, "0.0.0.0", 9000) == "http://127.0.0.1:9000"
    assert derived_base_url(unset, "::1", 9000) == "http://[::1]:9000"
    given = Settings(_env_file=None, base_url="https://sho.rt")  # type: ignore[call-arg]
    assert derived_base_url(given, "127.0.0.1", 8765) is None
    # doctor: a warning when BASE_URL is not where serve listens, none when it follows it.
    (mismatch,) = check_base_url(
        Settings(_env_file=None, base_url="http://127.0.0.1:8000"),  # type: ignore[call-arg]
        "127.0.0.1",
        8765,
    )
    assert mismatch.level == "warn" and "http://127.0.0.1:8765" in mismatch.what
    assert [f.level for f in check_base_url(unset, "127.0.0.1", 8765)] == ["ok"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "99999"], "--port: 99999 is not a port (0-65535)"),
        (["serve", "--port", "-1"], "--port: -1 is not a port (0-65535)"),
        (["doctor", "--port", "70000"], "--port: 70000 is not a port (0-65535)"),
        (["serve", "--workers", "0"], "--workers: 0 is not a whole number of 1 or more"),
        (["partitions", "--ahead", "-1"], "--ahead: -1 is not a whole number of 0 or more"),
        (
            ["domain", "add", "go.example.com", "--shared", "--user", "me@example.com"],
            "argument --user: not allowed with argument --shared",
        ),
    ],
)
def test_values_out_of_range_and_conflicting_flags_are_usage_errors(args, message, capsys) -> None:
    # Before: --port 99999 served on port 34463 (99999 mod 65536) while saying 99999,
    # --workers 0 served one worker, and --shared dropped --user without a word.
    with pytest.raises(SystemExit) as exited:
        build_parser(HANDLERS).parse_args(args)  # parsing only: nothing may start
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: shortener"), err
    assert err.strip().splitlines()[-1].endswith(message), err


def test_create_user_without_a_password_to_read_says_so(migrated, tmp_path) -> None:
    # No terminal to prompt on (cron, a container without -t) and nothing on stdin.
    result = subprocess.run(
        [sys.executable, "-m", "shortener.cli", "create-user", "cron@example.com"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=migrated,
        cwd=tmp_path,
        timeout=60,
        start_new_session=True,  # no controlling terminal: getpass reads standard input
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == "shortener: no password given: type one, or pipe it in with --password-stdin"


def test_ctrl_c_is_one_line_not_a_traceback(migrated, tmp_path) -> None:
    # `shortener import -` waiting for its file on standard input when the user gives up.
    proc = subprocess.Popen(
        [sys.executable, "-m", "shortener.cli", "import", "-"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=migrated,
        cwd=tmp_path,
    )
    try:
        assert proc.stderr is not None
        # The database line is said inside main(), where a Ctrl-C is answered.
        assert proc.stderr.readline().startswith("database: ")
        time.sleep(0.5)  # into the probe or the read of standard input: either must answer
        proc.send_signal(signal.SIGINT)
        err = proc.stderr.read()
        assert proc.wait(timeout=LIVE_TIMEOUT) == 130, err
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdin is not None
        proc.stdin.close()
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "shortener: interrupted"
