"""The `shortener` console script: serve, migrate, manage users, move links in and out."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import getpass
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TextIO

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from shortener.cli_database import (
    describe,
    first_line,
    missing_database,
    unanswered,
    unusable_url,
)
from shortener.cli_parser import build_parser
from shortener.config import ConfigError, Settings, derived_base_url, load_settings
from shortener.observability.logs import configure_logging, logging_config

log = logging.getLogger("shortener")
# The commands that read DATABASE_READ_URL when it is set (see transfer/cli.py's _database).
READS_REPLICA = frozenset({"export"})


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(HANDLERS)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings)
        unusable = unusable_url(settings.database_url)
        if unusable is not None:
            print(f"shortener: {unusable}", file=sys.stderr)
            return 2
        # The one line every command says: which database, so a wrong folder shows at once.
        # With LOG_FORMAT=json standard error holds log records only: it is one of them.
        database = f"database: {describe(settings.database_url)}"
        if settings.log_format == "json":
            log.info(database)
        else:
            print(database, file=sys.stderr)
        refusal = missing_database(settings.database_url, args.command)
        if refusal is not None:
            print(f"shortener: {refusal}", file=sys.stderr)
            return 2
        from shortener.migrate import alembic_logging

        alembic_logging(verbose=args.verbose > 0)
        if args.verbose > 1:
            logging.getLogger().setLevel(logging.DEBUG)
        # doctor asks the database itself, and says more than this would.
        unreachable = None if args.command == "doctor" else unanswered(settings.database_url)
        if unreachable is None and args.command in READS_REPLICA and settings.database_read_url:
            read = settings.database_read_url
            unreachable = unusable_url(read, "DATABASE_READ_URL") or unanswered(
                read, "the read database (DATABASE_READ_URL)"
            )
        if unreachable is not None:
            print(f"shortener: {unreachable}", file=sys.stderr)
            return 1
        return int(args.func(args, settings) or 0)
    except ConfigError as exc:
        print(f"shortener: {exc}", file=sys.stderr)
        return 2
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as exc:
        # It answered the probe above, then stopped (restarted, network gone, locked).
        print(f"shortener: the database stopped answering: {first_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C. What a command leaves is its own rule (an import is one transaction, rolled
        # back; an export replaces its file only when done): the user needs no traceback.
        print("shortener: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports it


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.doctor import check_base_url, report, run_checks

    return report([*run_checks(settings), *check_base_url(settings, args.host, args.port)])


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.migrate import upgrade
    from shortener.transfer.cli import run_import, run_remote_import

    if args.source is not None:
        # "-" reads it from standard input: a key on the command line lands in shell history.
        api_key = sys.stdin.readline().strip() if args.api_key == "-" else args.api_key
        if not api_key:
            print("shortener: --from needs --api-key KEY (or - to read it)", file=sys.stderr)
            return 2
        upgrade(settings.database_url)
        return asyncio.run(
            run_remote_import(
                settings, args.source, args.file, api_key, args.user, workspace=args.workspace
            )
        )
    if args.api_key:
        print("shortener: --api-key goes with --from", file=sys.stderr)
        return 2
    try:
        if args.file == "-":
            # Spooled: reading a file needs to go back to its start (encoding, row count).
            raw: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=2**24)  # noqa: SIM115
            shutil.copyfileobj(sys.stdin.buffer, raw)
            raw.seek(0)
        else:
            raw = open(args.file, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        print(f"shortener: {exc}", file=sys.stderr)
        return 1
    with raw:
        upgrade(settings.database_url)
        return asyncio.run(run_import(settings, raw, args.user, workspace=args.workspace))


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.transfer.cli import run_export

    def export(out: TextIO) -> int:
        return asyncio.run(run_export(settings, out, args.user, workspace=args.workspace))

    if args.file == "-":
        try:
            return export(sys.stdout)
        except BrokenPipeError:
            # `shortener export | head`: the reader has what it wanted. Nothing more can go
            # out; the interpreter's own last flush of stdout must not complain either.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    try:
        with _replacing(args.file) as out:
            code = export(out)
            if code != 0:
                raise _Abandoned(code)
    except _Abandoned as exc:
        return exc.code
    except OSError as exc:
        print(f"shortener: {exc}", file=sys.stderr)
        return 1
    print(f"links written to {args.file}", file=sys.stderr)
    return 0


class _Abandoned(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@contextlib.contextmanager
def _replacing(path: str) -> Iterator[TextIO]:
    """A file that takes `path`'s place only once the block ends without an error: an export
    that fails (no such account, the database gone) leaves last week's file as it was, not
    empty or cut short. Something that is not a regular file (/dev/stdout, a FIFO) is
    written to as it is."""
    target = Path(path)
    if target.exists() and not target.is_file():
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        with target.open("w", encoding="utf-8", newline="") as out:
            yield out
        return
    fd, part = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        if target.exists():
            shutil.copymode(target, part)
        else:  # as open() would have made it (mkstemp's are 0600)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(part, 0o666 & ~umask)
        os.replace(part, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(part)
        raise


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    from shortener.cli_maintenance import run_migrate

    return run_migrate(settings)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.migrate import apply_key_mode, upgrade
    from shortener.observability.workers import metrics_directory

    upgrade(settings.database_url)
    apply_key_mode(settings.database_url, settings.short_url_mode)
    if args.workers > 1 and not settings.redis_url:
        # Without Redis no worker hears of another's changes: read links fresh every time.
        log.warning(
            "%d workers without REDIS_URL: the in-process link cache is off so every worker "
            "sees changes at once; set REDIS_URL for speed.",
            args.workers,
        )
        os.environ["LINK_CACHE_TTL"] = "0"
    _ = settings.signing_key  # create the development key once, before the workers race for it
    derived = derived_base_url(settings, args.host, args.port)
    if derived is not None:
        # The workers read their settings from the environment: they print links this way.
        os.environ["BASE_URL"] = derived
        log.warning("BASE_URL is unset: short links are printed as %s/<key>", derived)
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
    from shortener.cli_maintenance import run_cleanup

    return run_cleanup(settings)


def _partitions(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.cli_maintenance import run_partitions

    return run_partitions(settings, ahead=args.ahead)


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.auth.schemas import UserCreate
    from shortener.migrate import upgrade

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            password = getpass.getpass("Password: ")
            repeated = getpass.getpass("Repeat the password: ")
        except (EOFError, KeyboardInterrupt):
            # No terminal and nothing on standard input (cron, a container without -t), or
            # the person gave up at the prompt.
            print(
                "\nshortener: no password given: type one, or pipe it in with --password-stdin",
                file=sys.stderr,
            )
            return 1
        if repeated != password:
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


def _reset_link(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.migrate import upgrade

    upgrade(settings.database_url)
    return asyncio.run(_print_reset_link(settings, args.email))


async def _print_reset_link(settings: Settings, email: str) -> int:
    from shortener.auth.reset import reset_link
    from shortener.auth.service import get_by_email
    from shortener.db import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            user = await get_by_email(session, email)
            if user is None or not user.is_active:
                print(f"shortener: no active account {email}", file=sys.stderr)
                return 1
            link = await reset_link(session, user=user, settings=settings)
        print(link)
        return 0
    finally:
        await engine.dispose()


def _domain(args: argparse.Namespace, settings: Settings) -> int:
    from shortener.migrate import upgrade

    upgrade(settings.database_url)
    return asyncio.run(_add_domain(settings, args.hostname, args.shared, args.user))


async def _add_domain(settings: Settings, hostname: str, shared: bool, email: str | None) -> int:
    from sqlalchemy import select
    from sqlmodel import col

    from shortener.auth.service import normalise_email
    from shortener.db import make_engine, make_sessionmaker
    from shortener.domains.schemas import DomainCreate
    from shortener.domains.service import create_domain
    from shortener.errors import DomainError
    from shortener.links.context import make_link_context
    from shortener.models import User
    from shortener.workspaces.service import acting_as

    engine = make_engine(settings.database_url)
    # No Redis: running workers read their domains again within seconds (domains/hosts.py).
    ctx = make_link_context(settings, engine, None)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            owner = None
            if email is not None and not shared:
                by_email = select(User).where(col(User.email) == normalise_email(email))
                owner = (await session.execute(by_email)).scalar_one_or_none()
                if owner is None:
                    print(f"shortener: no user {email}", file=sys.stderr)
                    return 1
            data = DomainCreate(hostname=hostname, shared=shared, verified=True)
            acting = None if owner is None else await acting_as(session, user=owner)
            domain = await create_domain(session, acting=acting, data=data, ctx=ctx, operator=True)
        print(f"added domain {domain.id} {domain.hostname}{' (shared)' if shared else ''}")
        return 0
    except DomainError as exc:
        detail = exc.detail
        if isinstance(detail, list):
            detail = "; ".join(str(item.get("msg", item)) for item in detail)
        print(f"shortener: {detail}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()


HANDLERS = {
    "serve": _serve,
    "flush": _flush,
    "migrate": _migrate,
    "doctor": _doctor,
    "cleanup": _cleanup,
    "partitions": _partitions,
    "create-user": _create_user,
    "reset-link": _reset_link,
    "import": _import,
    "export": _export,
    "domain": _domain,
}

if __name__ == "__main__":
    sys.exit(main())
