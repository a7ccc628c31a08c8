"""`shortener migrate`, `cleanup` and `partitions`: the work that can take long on a big
database, with the same progress bar as import and export (shortener/progress.py: only on a
terminal)."""

from __future__ import annotations

import asyncio

from shortener.config import Settings
from shortener.progress import progress_bar, stderr_console, watched


def run_migrate(settings: Settings) -> int:
    from shortener.migrate import apply_key_mode, current_revision, pending_migrations, upgrade

    err = stderr_console()
    pending = pending_migrations(settings.database_url) if watched(err) else None
    with progress_bar(err) as bar:
        task = bar.add_task("migrating", total=pending)
        upgrade(settings.database_url, on_step=lambda: bar.advance(task))
    lowered = apply_key_mode(settings.database_url, settings.short_url_mode)
    if lowered:
        print(f"SHORT_URL_MODE=loose: {lowered} key(s) lower-cased")
    print(f"database at revision {current_revision(settings.database_url)}")
    return 0


def run_cleanup(settings: Settings) -> int:
    from shortener.clicks.retention import cleanup, count_expired
    from shortener.db import make_engine, make_sessionmaker

    err = stderr_console()
    days = settings.click_retention_days

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            # Counting costs a scan of its own: only for a bar someone sees.
            total = await count_expired(sessionmaker, retention_days=days) if watched(err) else None
            with progress_bar(err) as bar:
                task = bar.add_task("deleting old clicks", total=total)
                cleaned = await cleanup(
                    sessionmaker,
                    retention_days=days,
                    audit_retention_days=settings.audit_retention_days,
                    progress=lambda n: bar.advance(task, n),
                )
        finally:
            await engine.dispose()
        print(
            f"deleted {cleaned.clicks} raw clicks older than {days} days, {cleaned.visitors} "
            f"expired visitor rows, {cleaned.orphan_visits} raw visits to unknown links and "
            f"{cleaned.audit_events} audit events older than {settings.audit_retention_days} days"
        )

    asyncio.run(run())
    return 0


def run_partitions(settings: Settings, *, ahead: int) -> int:
    from shortener.clicks import partitions
    from shortener.db import is_sqlite, make_engine, make_sessionmaker

    if is_sqlite(settings.database_url):
        print("SQLite keeps raw clicks in one table: nothing to partition")
        return 0

    async def run() -> partitions.Ensured:
        engine = make_engine(settings.database_url)
        try:
            return await partitions.ensure(make_sessionmaker(engine), ahead=ahead)
        finally:
            await engine.dispose()

    made = asyncio.run(run())
    print(
        f"created {len(made.created)} partition(s){': ' if made.created else ''}"
        f"{', '.join(made.created)}; moved {made.moved} click(s) out of {partitions.DEFAULT}"
    )
    return 0
