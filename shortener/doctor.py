"""`shortener doctor`: checks the configuration and the services, and says how to fix problems."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shortener.clicks.durability import UNKNOWN, read_durability
from shortener.clicks.partitions import DEFAULT, rows_in_default
from shortener.config import DEV_SECRET_FILE, Settings, served_url
from shortener.db import make_engine
from shortener.templating import templates_dir

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    what: str
    fix: str = ""


def check_settings(settings: Settings) -> list[Finding]:
    found = [Finding("ok", f"settings load (ENVIRONMENT={settings.environment})")]
    if settings.secret_key is None:
        found.append(
            Finding(
                "warn",
                f"SECRET_KEY is not set; a development key in {DEV_SECRET_FILE} signs tokens",
                "set SECRET_KEY (python -c 'import secrets; print(secrets.token_urlsafe(48))')",
            )
        )
    elif len(settings.secret_key.get_secret_value()) < 32:
        found.append(
            Finding("warn", "SECRET_KEY is shorter than 32 characters", "use a longer key")
        )
    if settings.environment == "production" and not settings.base_url.startswith("https://"):
        found.append(
            Finding("warn", "BASE_URL is not https in production", "serve behind TLS, set BASE_URL")
        )
    found.extend(check_sso(settings))
    return found


def check_sso(settings: Settings) -> list[Finding]:
    """What single sign-on is set to (Settings already refused half a configuration)."""
    if not settings.sso_enabled:
        return []
    kind = "confidential" if settings.oidc_client_secret is not None else "public (PKCE only)"
    signup = "creates accounts" if settings.oidc_signup else "matches existing accounts only"
    found = [
        Finding(
            "ok",
            f"single sign-on with {settings.oidc_issuer} ({kind} client {settings.oidc_client_id},"
            f" {signup}); redirect URI to register: {settings.base_url}/login/oidc/callback",
        )
    ]
    issuer = settings.oidc_issuer or ""
    if settings.environment == "production" and not issuer.startswith("https://"):
        found.append(
            Finding("warn", "OIDC_ISSUER is not https in production", "use the provider's https")
        )
    return found


async def check_database(settings: Settings) -> list[Finding]:
    from shortener.migrate import head_revision

    head = head_revision(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await conn.run_sync(_current_revision)
            loose = settings.short_url_mode == "loose" and current == head
            clashes = await _case_clashes(conn) if loose else []
            # PostgreSQL: clicks of months without a partition (0 on SQLite).
            stray = await conn.run_sync(rows_in_default) if current == head else 0
    except Exception as exc:
        return [
            Finding(
                "fail",
                f"database unreachable ({type(exc).__name__}: {exc})",
                "check DATABASE_URL and that the database server runs and accepts this user",
            )
        ]
    finally:
        await engine.dispose()
    if current != head:
        return [
            Finding("ok", "database answers"),
            Finding(
                "fail",
                f"database schema at revision {current or 'none'}, code expects {head}",
                "run `shortener migrate`",
            ),
        ]
    found = [Finding("ok", f"database answers, schema at head ({head})")]
    if stray:
        found.append(
            Finding(
                "warn",
                f"{stray} raw clicks sit in {DEFAULT}, the partition for months not created yet"
                " (retention cannot drop them by month)",
                "run `shortener partitions`: it creates their months and moves them there",
            )
        )
    if clashes:
        found.append(
            Finding(
                "fail",
                "SHORT_URL_MODE=loose, but keys differ only by case: " + "; ".join(clashes),
                "rename or delete one key of each, or set SHORT_URL_MODE=strict",
            )
        )
    return found


async def _case_clashes(conn: AsyncConnection) -> list[str]:
    from shortener.links.keymode import case_clashes

    return await case_clashes(conn)


async def check_read_database(settings: Settings) -> list[Finding]:
    """DATABASE_READ_URL, when set: it answers, at the primary's schema (a replica follows it)."""
    if settings.database_read_url is None:
        return [Finding("ok", "DATABASE_READ_URL not set: statistics and exports read the primary")]
    from shortener.migrate import head_revision

    head = head_revision(settings.database_url)
    engine = make_engine(settings.database_read_url)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(_current_revision)
    except Exception as exc:
        return [
            Finding(
                "fail",
                f"read database unreachable ({type(exc).__name__}: {exc}); statistics and "
                "exports answer 503",
                "check DATABASE_READ_URL and the replica, or unset it to read the primary",
            )
        ]
    finally:
        await engine.dispose()
    if current != head:
        return [
            Finding(
                "fail",
                f"read database schema at revision {current or 'none'}, code expects {head}",
                "DATABASE_READ_URL must be a replica of DATABASE_URL (which `shortener migrate` "
                "upgrades); check it follows the primary",
            )
        ]
    return [Finding("ok", f"read database (DATABASE_READ_URL) answers, schema at head ({head})")]


def _current_revision(sync_conn: object) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(sync_conn).get_current_revision()  # type: ignore[arg-type]


async def check_redis(settings: Settings) -> list[Finding]:
    if not settings.redis_url:
        return [
            Finding(
                "ok",
                "REDIS_URL not set: in-process cache and click queue (fine for one worker)",
            )
        ]
    client = RedisCluster if settings.redis_cluster else Redis
    redis = client.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        await redis.ping()
        info: Any = await redis.info("server")
        if isinstance(redis, RedisCluster):  # {node: info} from every node
            info = next(iter(info.values()), {}) if "redis_version" not in info else info
        found = [Finding("ok", f"redis answers (version {info.get('redis_version', '?')})")]
        if isinstance(redis, RedisCluster):
            state = (await redis.cluster_info()).get("cluster_state")
            found.append(
                Finding("ok", "redis cluster state ok")
                if state == "ok"
                else Finding("fail", f"redis cluster state {state}", "see CLUSTER INFO")
            )
        durability = await read_durability(redis)
        if durability.loses_queued_clicks or durability is UNKNOWN:
            found.append(
                Finding("warn", f"click queue durability {durability.summary}", durability.advice)
            )
        else:
            found.append(Finding("ok", f"click queue durability: {durability.sentence}"))
        return found
    except Exception as exc:
        return [
            Finding(
                "fail",
                f"redis unreachable ({type(exc).__name__}: {exc})",
                "check REDIS_URL and that redis-server runs; or unset REDIS_URL for one worker",
            )
        ]
    finally:
        await redis.aclose()


def check_data_files() -> list[Finding]:
    found: list[Finding] = []
    try:
        import geoip2fast

        country = geoip2fast.GeoIP2Fast().lookup("8.8.8.8").country_code
        found.append(Finding("ok", f"GeoIP data loads (8.8.8.8 is {country})"))
    except Exception as exc:
        found.append(
            Finding("fail", f"GeoIP data does not load ({exc})", "pip install -U geoip2fast")
        )
    if (templates_dir() / "base.html").is_file():
        found.append(Finding("ok", f"templates found in {templates_dir()}"))
    else:
        found.append(
            Finding("fail", f"templates missing in {templates_dir()}", "reinstall shortener")
        )
    return found


def check_base_url(settings: Settings, host: str, port: int) -> list[Finding]:
    """BASE_URL against where `serve --host --port` listens: short links and QR codes point at
    BASE_URL, so a mismatch not covered by a reverse proxy prints links that lead nowhere."""
    served = served_url(host, port)
    if "base_url" not in settings.model_fields_set:
        return [Finding("ok", f"BASE_URL unset: serve prints links as {served}/<key>")]
    if settings.base_url == served:
        return [Finding("ok", f"BASE_URL is where serve listens ({served})")]
    return [
        Finding(
            "warn",
            f"BASE_URL {settings.base_url} is not where serve listens ({served})",
            "fine behind a reverse proxy that serves BASE_URL; otherwise set BASE_URL to "
            f"{served} or unset it",
        )
    ]


def run_checks(settings: Settings) -> list[Finding]:
    async def services() -> list[Finding]:
        db, read, redis = await asyncio.gather(
            check_database(settings), check_read_database(settings), check_redis(settings)
        )
        return db + read + redis

    return [*check_settings(settings), *asyncio.run(services()), *check_data_files()]


def report(findings: list[Finding], out: Callable[[str], None] = print) -> int:
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    for finding in findings:
        out(f"[{marks[finding.level]}] {finding.what}")
        if finding.fix and finding.level != "ok":
            out(f"       fix: {finding.fix}")
    failures = sum(f.level == "fail" for f in findings)
    out("all checks passed" if not failures else f"{failures} problem(s) found")
    return 1 if failures else 0
