"""The `shortener` command line: its commands, their help and examples (shortener.cli runs them)."""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Callable, Mapping

from shortener.config import Settings

Handler = Callable[[argparse.Namespace, Settings], int]

DESCRIPTION = """\
A self-hosted URL shortener with private, exact click analytics.

Settings come from the environment (or a .env file): DATABASE_URL, REDIS_URL, SECRET_KEY,
BASE_URL... `shortener doctor` checks them."""
EPILOG = """\
examples:
  shortener serve --port 8000                  # migrate, then serve on 127.0.0.1:8000
  shortener create-user me@example.com --admin
  shortener COMMAND --help                     # what a command takes, with examples"""


def _version() -> str:
    try:
        return importlib.metadata.version("shortener")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout, not installed
        return "unknown (not installed)"


# command: (what it does, examples for its --help), in the order --help lists them
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "serve": (
        "apply migrations, then serve the app",
        (
            "shortener serve                          # 127.0.0.1:8000, one worker",
            "shortener serve --host 0.0.0.0 --port 80 --workers 4 --forwarded-allow-ips 10.0.0.1",
        ),
    ),
    "flush": (
        "write clicks from the Redis stream to the database until stopped (a flusher of its "
        "own, for serving workers run with CLICK_FLUSHER=false)",
        ("REDIS_URL=redis://localhost:6379/0 shortener flush   # SIGTERM stops it",),
    ),
    "migrate": (
        "bring the database schema up to date",
        (
            "shortener migrate        # prints the revision the database is at",
            "shortener -v migrate     # and each migration applied",
        ),
    ),
    "doctor": (
        "check the configuration and the services",
        (
            "shortener doctor         # exit status 0 when everything is fine",
            "shortener doctor --port 8765   # and BASE_URL against where serve will listen",
        ),
    ),
    "cleanup": (
        "delete raw clicks older than CLICK_RETENTION_DAYS (rollups stay)",
        ("CLICK_RETENTION_DAYS=30 shortener cleanup",),
    ),
    "partitions": (
        "PostgreSQL: create the monthly partitions of raw clicks ahead (flushers also do it "
        "hourly), moving clicks out of the default partition into their month",
        (
            "shortener partitions              # this month and 3 ahead",
            "shortener partitions --ahead 12   # a year ahead",
        ),
    ),
    "create-user": (
        "create an account",
        (
            "shortener create-user me@example.com --admin      # asks for the password",
            'echo "$PASSWORD" | shortener create-user bot@example.com --password-stdin',
        ),
    ),
    "reset-link": (
        "print a password-reset link for an account, to hand over yourself (works once, for "
        "PASSWORD_RESET_EXPIRE_MINUTES; needed when SMTP_URL is unset and no mail goes out)",
        ("shortener reset-link me@example.com",),
    ),
    "domain": (
        "add a custom domain, verified (the operator controls its DNS)",
        (
            "shortener domain add go.example.com --shared          # for every user",
            "shortener domain add links.example.org --user me@example.com",
        ),
    ),
    "import": (
        "import links from a CSV file (ours, YOURLS, Shlink, Kutt or Bitly), or from a running "
        "Shlink, YOURLS or Kutt through its API",
        (
            "shortener import links.csv",
            "shortener import - --user me@example.com < bitly-export.csv",
            "shortener import --from yourls https://old.example --api-key SIGNATURE",
            "shortener import --from shlink https://s.example --api-key KEY   # visits too",
            "shortener import --from kutt https://kutt.example --api-key KEY --user me@example.com",
        ),
    ),
    "export": (
        "write a user's links as CSV",
        (
            "shortener export links.csv --user me@example.com",
            "shortener export team.csv --user me@example.com --workspace acme",
            "shortener export | head   # to standard output",
        ),
    ),
}


def port(value: str) -> int:
    """A TCP port, as argparse's type: uvicorn would bind 99999 as 34463 (mod 65536)."""
    number = _whole(value)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0-65535)")
    return number


def at_least(lowest: int) -> Callable[[str], int]:
    """A whole number of `lowest` or more, as argparse's type."""

    def parse(value: str) -> int:
        number = _whole(value)
        if number < lowest:
            raise argparse.ArgumentTypeError(f"{value} is not a whole number of {lowest} or more")
        return number

    return parse


def _whole(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None


def build_parser(handlers: Mapping[str, Handler]) -> argparse.ArgumentParser:
    """The parser; `handlers` run the commands, by command name."""
    parser = argparse.ArgumentParser(
        prog="shortener",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="say more: -v shows each migration step, -vv debug logs",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    sub: dict[str, argparse.ArgumentParser] = {}
    for name, (summary, examples) in COMMANDS.items():
        sub[name] = commands.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog="examples:\n" + "\n".join(f"  {line}" for line in examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub[name].set_defaults(func=handlers[name], command=name)

    doctor = sub["doctor"]
    doctor.add_argument("--host", default="127.0.0.1", help="as given to serve (%(default)s)")
    doctor.add_argument("--port", type=port, default=8000, help="as given to serve (%(default)s)")
    serve = sub["serve"]
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    serve.add_argument("--port", type=port, default=8000, help="port (%(default)s)")
    serve.add_argument(
        "--workers",
        type=at_least(1),
        default=1,
        help="processes (%(default)s; more need REDIS_URL)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="proxies whose X-Forwarded-For is trusted (default: TRUSTED_PROXIES)",
    )
    sub["partitions"].add_argument(
        "--ahead",
        type=at_least(0),
        default=3,
        help="months after this one to create (%(default)s)",
    )
    create_user = sub["create-user"]
    create_user.add_argument("email")
    create_user.add_argument("--admin", action="store_true", help="make it an administrator")
    create_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    sub["reset-link"].add_argument("email")
    domain = sub["domain"]
    domain.add_argument("action", choices=["add"])
    domain.add_argument("hostname")
    # A shared domain has no owner: --user with it was dropped without a word.
    whose = domain.add_mutually_exclusive_group()
    whose.add_argument("--shared", action="store_true", help="every user may use it")
    whose.add_argument(
        "--user", metavar="EMAIL", help="its owner (default: nobody, so admins only)"
    )
    import_ = sub["import"]
    import_.add_argument(
        "file", help="the CSV file ('-' for standard input); with --from, the instance's URL"
    )
    import_.add_argument(
        "--from",
        dest="source",
        choices=("shlink", "yourls", "kutt"),
        help="read a running instance of this shortener through its API instead of a file",
    )
    import_.add_argument(
        "--api-key",
        metavar="KEY",
        help="with --from: its API key (YOURLS: a signature token); '-' reads it from stdin",
    )
    import_.add_argument("--user", metavar="EMAIL", help="the owner (needed with several accounts)")
    import_.add_argument(
        "--workspace",
        metavar="SLUG",
        help="a team workspace of theirs (default: their personal one)",
    )
    export = sub["export"]
    export.add_argument("file", nargs="?", default="-", help="where to (default: standard output)")
    export.add_argument(
        "--user", metavar="EMAIL", help="whose links (needed with several accounts)"
    )
    export.add_argument(
        "--workspace",
        metavar="SLUG",
        help="a team workspace of theirs (default: their personal one)",
    )
    return parser
