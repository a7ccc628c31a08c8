"""`shortener doctor` on a healthy and on a broken configuration."""

from pathlib import Path

from shortener.config import Settings
from shortener.doctor import report, run_checks


def test_healthy_configuration_passes(settings: Settings) -> None:
    # settings: a migrated database in either mode (with Redis in the postgres mode)
    lines: list[str] = []
    assert report(run_checks(settings), lines.append) == 0, lines
    assert lines[-1] == "all checks passed"
    assert any("schema at head" in line for line in lines)
    if settings.redis_url:
        assert any(line.startswith("[ok  ] redis answers") for line in lines)


def test_broken_configuration_says_what_and_how(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'never-migrated.db'}",
        redis_url="redis://127.0.0.1:1/0",
        secret_key=None,
        environment="development",
    )
    lines: list[str] = []
    assert report(run_checks(settings), lines.append) == 1
    text = "\n".join(lines)
    assert "[FAIL] database schema at revision none" in text
    assert "fix: run `shortener migrate`" in text
    assert "[FAIL] redis unreachable" in text
    assert "[WARN] SECRET_KEY is not set" in text
    assert lines[-1] == "2 problem(s) found"


def test_unreachable_database_fails(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none", secret_key="x" * 40)
    lines: list[str] = []
    assert report(run_checks(settings), lines.append) == 1
    assert any(line.startswith("[FAIL] database unreachable") for line in lines)


def test_read_database_is_checked_when_set(settings: Settings, tmp_path: Path) -> None:
    lines: list[str] = []
    assert report(run_checks(settings), lines.append) == 0, lines
    assert any("DATABASE_READ_URL not set" in line for line in lines)

    # A database that answers at the primary's schema (here the primary itself) passes.
    same = settings.model_copy(update={"database_read_url": settings.database_url})
    lines = []
    assert report(run_checks(same), lines.append) == 0, lines
    assert any(
        line.startswith("[ok  ] read database (DATABASE_READ_URL) answers") for line in lines
    )

    behind = f"sqlite:///{tmp_path / 'never-migrated-replica.db'}"
    lines = []
    assert (
        report(run_checks(settings.model_copy(update={"database_read_url": behind})), lines.append)
        == 1
    )
    assert any(line.startswith("[FAIL] read database schema at revision none") for line in lines)

    away = "postgresql://nobody@127.0.0.1:1/none"
    lines = []
    assert (
        report(run_checks(settings.model_copy(update={"database_read_url": away})), lines.append)
        == 1
    )
    assert any(line.startswith("[FAIL] read database unreachable") for line in lines)
