"""The `shortener` console script."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from pydantic import ValidationError

from shortener.config import ConfigError, Settings, load_settings
from shortener.observability.logs import configure_logging, logging_config

log = logging.getLogger("shortener")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings)
        return int(args.func(args, settings) or 0)
    except ConfigError as exc:
        print(f"shortener: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shortener", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="apply migrations, then serve the app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="proxies whose X-Forwarded-For is trusted (default: TRUSTED_PROXIES)",
    )
    serve.set_defaults(func=_serve)

    flush = commands.add_parser(
        "flush",
        help="write clicks from the Redis stream to the database until stopped (a flusher "
        "of its own, for serving workers run with CLICK_FLUSHER=false)",
    )
    flush.set_defaults(func=_flush)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(func=_migrate)

    doctor = commands.add_parser("doctor", help="check the configuration and the services")
    doctor.set_defaults(func=_doctor)
    cleanup = commands.add_parser(
        "cleanup", help="delete raw clicks older than CLICK_RETENTION_DAYS (rollups stay)"
    )
    cleanup.set_defaults(func=_cleanup)

    create_user = commands.add_parser("create-user", help="create an account")
    create_user.add_argument("email")
    create_user.add_argument("--admin", action="store_true", help="make it an administrator")
    create_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create_user.set_defaults(func=_create_user)

    import_ = commands.add_parser(
        "import", help="import links from a CSV file (ours, YOURLS, Shlink, Kutt or Bitly)"
    )
    import_.add_argument("file", help="the CSV file ('-' for standard input)")
    import_.add_argument("--user", metavar="EMAIL", help="the owner (needed with several accounts)")
    import_.set_defaults(func=_import)

    export = commands.add_parser("export", help="write a user's links as CSV")
    export.add_argument("file", nargs="?", default="-", help="where to (default: standard output)")
    export.add_argument(
        "--user", metavar="EMAIL", help="whose links (needed with several accounts)"
    )
    export.set_defaults(func=_export)
    return parser


def _doctor(_args: argparse.Namespace, settings: Settings) -> int:
    from shortener.doctor import report, run_checks

    return report(run_checks(settings))


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.migrate import upgrade
    from shortener.transfer.cli import run_import

    try:
        if args.file == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as file:
                raw = file.read()
    except OSError as exc:
        print(f"shortener: {exc}", file=sys.stderr)
        return 1
    upgrade(settings.database_url)
    return asyncio.run(run_import(settings, raw, args.user))


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.transfer.cli import run_export

    if args.file == "-":
        return asyncio.run(run_export(settings, sys.stdout, args.user))
    try:
        out = open(args.file, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        print(f"shortener: {exc}", file=sys.stderr)
        return 1
    with out:
        code = asyncio.run(run_export(settings, out, args.user))
    if code == 0:
        print(f"links written to {args.file}", file=sys.stderr)
    return code


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    from shortener.migrate import current_revision, upgrade

    upgrade(settings.database_url)
    print(f"database at revision {current_revision(settings.database_url)}")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.migrate import upgrade
    from shortener.observability.workers import metrics_directory

    upgrade(settings.database_url)
    if args.workers > 1 and not settings.redis_url:
        # Without Redis no worker hears of another's changes: read links fresh every time.
        log.warning(
            "%d workers without REDIS_URL: the in-process link cache is off so every worker "
            "sees changes at once; set REDIS_URL for speed.",
            args.workers,
        )
        os.environ["LINK_CACHE_TTL"] = "0"
    _ = settings.signing_key  # create the development key once, before the workers race for it
    with metrics_directory(settings, args.workers):
        _run_uvicorn(args, settings)
    return 0


def _run_uvicorn(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    # uvicorn stops gracefully on SIGTERM (the queue drains in the lifespan), then raises the
    # signal again with the previous handler in place, so by default the process dies of it
    # (status -15/143) and a clean `docker stop` or `systemctl stop` looks like a crash.
    # Make that re-raised SIGTERM a normal exit.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "shortener.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        # One setting for both: uvicorn rewrites the client address, the click recorder
        # applies the same list (see shortener.clicks.client_ip).
        forwarded_allow_ips=args.forwarded_allow_ips or settings.trusted_proxies,
        server_header=False,
        # uvicorn's access log prints every client address (no IP may reach a log), and
        # per-request lines cost more than the redirect itself: our request log replaces it.
        access_log=False,
        # Applied by uvicorn in each worker too (spawned processes start unconfigured).
        log_config=logging_config(settings),
        timeout_graceful_shutdown=20,
    )


def _flush(_args: argparse.Namespace, settings: Settings) -> int:
    """The app's background work without HTTP: the click flusher with everything that follows a
    written batch (webhooks' link.clicked, the live feed), retention, until SIGTERM/SIGINT."""
    import asyncio

    from shortener.runtime import open_runtime

    if settings.redis_url is None:
        print(
            "shortener: flush reads the Redis click stream: set REDIS_URL (without Redis, "
            "each serving worker writes its own clicks).",
            file=sys.stderr,
        )
        return 2
    settings = settings.model_copy(update={"click_flusher": True})

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with open_runtime(settings):
            log.info("writing clicks from the Redis stream; SIGTERM stops (after a last flush)")
            await stop.wait()

    asyncio.run(run())
    return 0


def _cleanup(_args: argparse.Namespace, settings: Settings) -> int:
    from shortener.clicks.retention import cleanup
    from shortener.db import make_engine, make_sessionmaker

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            cleaned = await cleanup(
                make_sessionmaker(engine), retention_days=settings.click_retention_days
            )
        finally:
            await engine.dispose()
        print(
            f"deleted {cleaned.clicks} raw clicks older than {settings.click_retention_days} "
            f"days and {cleaned.visitors} expired visitor rows"
        )

    asyncio.run(run())
    return 0


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.auth.schemas import UserCreate
    from shortener.migrate import upgrade

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != password:
            print("shortener: the passwords differ", file=sys.stderr)
            return 1
    try:
        body = UserCreate(email=args.email, password=password)
    except ValidationError as exc:
        for err in exc.errors():
            print(f"shortener: {err['loc'][0]}: {err['msg']}", file=sys.stderr)
        return 1
    upgrade(settings.database_url)
    return asyncio.run(_insert_user(settings, body.email, body.password, args.admin))


async def _insert_user(settings: Settings, email: str, password: str, admin: bool) -> int:
    from shortener.auth.service import create_user
    from shortener.db import make_engine, make_sessionmaker
    from shortener.errors import Conflict

    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            user = await create_user(session, email=email, password=password, is_admin=admin)
        print(f"created user {user.id} <{user.email}>{' (admin)' if admin else ''}")
        return 0
    except Conflict as exc:
        print(f"shortener: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
