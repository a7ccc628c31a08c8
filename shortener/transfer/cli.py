"""`shortener import` and `shortener export`: the same service as the API, with a progress
bar (rich, on standard error) when a person is watching."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, TextIO

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shortener.audit.service import record
from shortener.auth.service import get_by_email
from shortener.clicks.writer import write_clicks
from shortener.config import Settings
from shortener.db import commit, make_engine, make_sessionmaker
from shortener.errors import DomainError, NotFound
from shortener.links.context import make_link_context
from shortener.models import Link, User
from shortener.progress import progress_bar, stderr_console
from shortener.transfer import export, service
from shortener.transfer.formats import (
    ImportRow,
    RowError,
    UnreadableFile,
    count_rows,
    open_text,
    read_csv,
)
from shortener.transfer.remote import Remote, RemoteError, SourceName, clicks_of
from shortener.workspaces.acting import Acting
from shortener.workspaces.roles import Permission
from shortener.workspaces.service import acting_as


class CliError(Exception):
    pass


@asynccontextmanager
async def _database(
    settings: Settings, *, read: bool = False
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The primary's sessions, or with `read` those of DATABASE_READ_URL when it is set."""
    engine = make_engine((read and settings.database_read_url) or settings.database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def _owner(
    session: AsyncSession, email: str | None, workspace: str | None, permission: Permission
) -> Acting:
    """The account whose links these are, in its personal workspace or the team workspace
    `workspace` (a slug), held to the rules the API holds it to there: a member (a site admin
    anywhere), two-factor if the workspace asks for it, a role that allows `permission`."""
    user = await _account(session, email)
    try:
        acting = await acting_as(session, user=user, slug=workspace)
    except NotFound:
        raise CliError(f"{user.email} is not a member of a workspace '{workspace}'") from None
    except DomainError as exc:  # the workspace's two-factor rule
        raise CliError(f"{user.email}: {exc.detail}") from None
    if not acting.may(permission):
        raise CliError(f"{user.email}: {acting.refusal(permission).detail}")
    return acting


async def _account(session: AsyncSession, email: str | None) -> User:
    if email is not None:
        user = await get_by_email(session, email)
        if user is None:
            raise CliError(f"no account has the email {email}")
        return user
    users = list((await session.execute(select(User).limit(2))).scalars())
    if len(users) != 1:
        raise CliError(
            "there are several accounts: say whose links with --user EMAIL"
            if users
            else "there is no account yet: create one with `shortener create-user EMAIL`"
        )
    return users[0]


async def run_import(
    settings: Settings, raw: IO[bytes], email: str | None, *, workspace: str | None = None
) -> int:
    err = stderr_console()
    try:
        text = open_text(raw)
        total = count_rows(text)
        parsed = read_csv(text)
    except UnreadableFile as exc:
        err.print(f"shortener: {exc}", markup=False)
        return 1
    async with _database(settings) as sessionmaker:
        # No Redis here: running workers learn the new keys by their key filter's poll (2 s);
        # announcing them would wait for acknowledgements meant for workers.
        engine = sessionmaker.kw["bind"]
        ctx = await make_link_context(settings, engine, None).fresh()  # the loop check's domains
        try:
            async with sessionmaker() as session:
                owner = await _owner(session, email, workspace, "links:write")
                with progress_bar(err) as progress:
                    task = progress.add_task(f"importing ({parsed.format})", total=total)
                    result = await service.import_links(
                        session,
                        acting=owner,
                        rows=parsed.rows,
                        ctx=ctx,
                        quota=None,  # the operator's own command: no import budget
                        format_name=parsed.format,
                        progress=lambda n: progress.advance(task, n),
                    )
                await commit(session)
        except CliError as exc:
            err.print(f"shortener: {exc}", markup=False)
            return 1

    for error in result.errors:
        err.print(f"line {error.line}: {error.detail}", markup=False)
    print(
        f"{result.created} created, {result.skipped} skipped, {len(result.errors)} errors "
        f"({parsed.format} format)"
    )
    return 1 if result.errors else 0


async def run_remote_import(
    settings: Settings,
    source: SourceName,
    url: str,
    api_key: str,
    email: str | None,
    *,
    workspace: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """`shortener import --from SOURCE URL --api-key KEY`: every link of a running instance
    (and, from Shlink, every visit as a click), through the same import as a CSV file: the
    same checks, keys kept where free, and a second run skips what the first created."""
    err = stderr_console()
    totals = service.ImportResult(format=source)
    visits = 0
    async with (
        _database(settings) as sessionmaker,
        Remote(source, url, api_key, transport=transport) as remote,
    ):
        ctx = await make_link_context(settings, sessionmaker.kw["bind"], None).fresh()
        try:
            async with sessionmaker() as session:
                owner = await _owner(session, email, workspace, "links:write")
                with progress_bar(err) as progress:
                    task = progress.add_task(f"importing from {source}", total=None)
                    async for page in remote.pages():
                        progress.update(task, total=page.total)
                        result = await service.import_links(
                            session,
                            acting=owner,
                            rows=page.rows,
                            ctx=ctx,
                            quota=None,  # the operator's own command, as for CSV files
                            format_name=source,
                            progress=lambda n: progress.advance(task, n),
                        )
                        totals.created += result.created
                        totals.skipped += result.skipped
                        totals.errors += result.errors
                        if source == "shlink":
                            visits += await _import_visits(session, remote, owner, page.rows)
                await commit(session)
        except CliError as exc:
            err.print(f"shortener: {exc}", markup=False)
            return 1
        except RemoteError as exc:
            # One transaction: what earlier pages created is rolled back with it.
            err.print(f"shortener: {exc}; nothing was imported", markup=False)
            return 1
    for error in totals.errors:
        err.print(f"link {error.line}: {error.detail}", markup=False)
    clicks = f", {visits} visits" if source == "shlink" else ""
    print(
        f"{totals.created} created, {totals.skipped} skipped, {len(totals.errors)} errors"
        f"{clicks} (from {source} at {remote.url})"
    )
    return 1 if totals.errors else 0


async def _import_visits(
    session: AsyncSession, remote: Remote, owner: Acting, rows: list[ImportRow | RowError]
) -> int:
    """The visits of this page's links that are now the owner's (created or found again)."""
    keys = [row.key for row in rows if isinstance(row, ImportRow) and row.key]
    if not keys:
        return 0
    found = await session.execute(
        select(col(Link.key), col(Link.id)).where(
            col(Link.key).in_(keys), col(Link.workspace_id) == owner.workspace_id
        )
    )
    written = 0
    for key, link_id in found:
        visits = await remote.shlink_visits(key)
        written += await write_clicks(session, clicks_of(remote.url, key, link_id or 0, visits))
    return written


async def _audit_export(settings: Settings, *, owner: Acting) -> None:
    """The export in the audit log, as the API's is (on the primary: the export itself may read
    a replica). The actor is the account whose links leave; the CLI has no address."""
    async with _database(settings) as sessionmaker, sessionmaker() as session:
        await record(
            session,
            actor=await session.get(User, owner.user.id),
            action="export",
            detail={"format": "csv", "via": "cli"},
            workspace_id=owner.workspace_id,
        )
        await commit(session)


async def run_export(
    settings: Settings, out: TextIO, email: str | None, *, workspace: str | None = None
) -> int:
    err = stderr_console()
    async with _database(settings, read=True) as sessionmaker:
        try:
            async with sessionmaker() as session:
                owner = await _owner(session, email, workspace, "links:read")
                count = (
                    await session.execute(
                        select(func.count())
                        .select_from(Link)
                        .where(col(Link.workspace_id) == owner.workspace_id)
                    )
                ).scalar_one()
        except CliError as exc:
            err.print(f"shortener: {exc}", markup=False)
            return 1
        await _audit_export(settings, owner=owner)
        with progress_bar(err) as progress:
            task = progress.add_task("exporting", total=count)
            async for text, rows in export.export_chunks(
                sessionmaker, workspace_id=owner.workspace_id
            ):
                out.write(text)
                progress.advance(task, rows)
    out.flush()
    return 0
