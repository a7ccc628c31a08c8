"""Many links at once: the bulk API (through the links service) and CSV import (a bulk path).

The import does not call create_link per row: with 100,000 rows a savepoint and a round trip
per row take minutes. It checks rows with the same rules (the LinkCreate schema and
links.validation: target, key, blocklist), asks which keys are taken and which targets are
blocked with one query each per chunk, and inserts each chunk with one executemany
(insertmanyvalues) that skips keys taken meanwhile.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pydantic import ValidationError
from sqlalchemy import BindParameter, Table, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.audit.service import record_acting
from shortener.auth.passwords import hash_password
from shortener.db import after_commit
from shortener.domains import service as domains_service
from shortener.errors import DomainError, Invalid, TooManyRequests
from shortener.keys import link_ident, md5_hex, random_key
from shortener.links import service as links_service
from shortener.links import validation
from shortener.links.context import LinkContext
from shortener.links.quota import LinkQuota, unlimited
from shortener.links.schemas import LinkCreate, LinkPublic
from shortener.links.validation import NewLink
from shortener.models import Link, LinkTag, utcnow
from shortener.transfer.formats import ImportRow, RowError
from shortener.workspaces.acting import Acting
from shortener.workspaces.service import hold_workspace

links_table: Table = Link.__table__  # type: ignore[attr-defined]

CHUNK = 1000
INSERT_ATTEMPTS = 3
RANDOM_KEY_ROUNDS = 5


def describe(detail: Any) -> str:
    """A domain error's or a validation error's detail as one readable line."""
    if isinstance(detail, list):
        parts = []
        for err in detail:
            loc = [str(p) for p in err.get("loc", ()) if p != "body"]
            parts.append(f"{'.'.join(loc)}: {err.get('msg')}" if loc else str(err.get("msg")))
        return "; ".join(parts)
    return str(detail)


# ---- the bulk API: at most 1000 items, each atomic on its own -------------------------------


@dataclass(slots=True)
class BulkItem:
    index: int
    status: str  # created | existing (md5 strategy, already shortened) | error
    link: Link | None = None
    detail: str | None = None


async def bulk_create(
    session: AsyncSession,
    *,
    acting: Acting,
    items: list[Any],
    ctx: LinkContext,
    quota: LinkQuota | None,
) -> list[BulkItem]:
    """Each item is checked and its password hashed before anything is written; the quota
    grants what is left of it, and the items past that are errors (none granted: 429)."""
    results: dict[int, BulkItem] = {}
    accepted: list[tuple[int, NewLink]] = []
    for index, raw in enumerate(items):
        try:
            data = LinkCreate.model_validate(raw)
            accepted.append((index, await validation.prepare(data, ctx)))
        except ValidationError as exc:
            results[index] = BulkItem(index, "error", detail=describe(exc.errors()))
        except DomainError as exc:
            results[index] = BulkItem(index, "error", detail=describe(exc.detail))
    grant = await quota.take(len(accepted)) if quota is not None else unlimited(len(accepted))
    if accepted and grant.granted == 0 and grant.refused is not None:
        raise grant.refused
    unused = 0
    for n, (index, new) in enumerate(accepted):
        if n >= grant.granted:
            refused = grant.refused.detail if grant.refused is not None else "not allowed"
            results[index] = BulkItem(index, "error", detail=describe(refused))
            continue
        try:
            # One savepoint per item: a failure rolls back this item only.
            async with session.begin_nested():
                link, created = await links_service.add_prepared(
                    session, acting=acting, new=new, ctx=ctx
                )
        except DomainError as exc:
            results[index] = BulkItem(index, "error", detail=describe(exc.detail))
            unused += 1
            continue
        unused += 0 if created else 1
        results[index] = BulkItem(index, "created" if created else "existing", link=link)
    await grant.unused(unused)
    return [results[index] for index in sorted(results)]


# ---- CSV import --------------------------------------------------------------------------


@dataclass(slots=True)
class ImportResult:
    format: str
    created: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Set when the import budget ran out: the rows after that were not imported.
    refused: TooManyRequests | None = None


def _validate(row: ImportRow, acting: Acting, ctx: LinkContext) -> dict[str, Any] | str:
    """The values to insert, or why the row cannot be a link."""
    try:
        data = LinkCreate.model_validate(
            {
                "url": row.url,
                "title": row.title,
                "max_clicks": row.max_clicks,
                "redirect_type": row.redirect_type,
                "tags": row.tags,
                "password": row.password,
                **row.options,
            }
        )
    except ValidationError as exc:
        return describe(exc.errors())
    try:
        url = validation.check_target(data.url, ctx)  # stored as browsers read it
        # Checked as the API checks them: their targets are web URLs that do not loop.
        options = validation.option_columns(
            data.model_dump(include=set(validation.OPTION_FIELDS)), ctx
        )
    except Invalid as exc:
        return describe(exc.detail)
    if row.has_password and data.password is None:
        # Imported without one, the link would open to anyone who has it.
        return (
            "password: the link was password-protected, and an export holds no passwords: "
            "give it in a password column, or leave has_password out to import it open"
        )
    if row.key is not None:
        problem = validation.imported_key_problem(row.key)
        if problem:
            return problem
    now = utcnow()
    return {
        "key": ctx.key(row.key) if row.key is not None else None,
        "url": url,
        "url_md5": md5_hex(url),
        "key_strategy": "alias" if row.key is not None else "random",
        "owner_id": acting.user.id or 0,
        "workspace_id": acting.workspace_id,
        "title": data.title,
        "created_at": row.created_at or now,
        "updated_at": now,
        # Kept even when past: an import restores links as they were (they answer 410).
        "expires_at": row.expires_at,
        "max_clicks": data.max_clicks,
        "uses": row.uses,  # an exhausted link stays exhausted
        "password_hash": None,
        "redirect_type": data.redirect_type,
        "is_active": row.is_active,
        "clicks": 0,
        "domain_id": None,
        **options,
        "_tags": data.tags,
        "_line": row.line,
        "_created_given": row.created_at is not None,
        "_password": data.password,
        # Every URL a visitor may be sent to, for the blocklist (as targets() names them).
        "_targets": validation.targets(url, options),
    }


@dataclass(slots=True)
class _Existing:
    """The user's links that a row without a key may already be (the file was imported
    before): how many of each signature are left to match. A URL's links are loaded the first
    time a chunk has it, before this import inserts any link with that URL, so that a file's
    own repeated rows are all created the first time and all matched the second."""

    left: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    loaded: set[str] = field(default_factory=set)


def _signature(url: str, title: str | None, created_at: Any) -> tuple[Any, ...]:
    # What identifies a keyless row: its URL, its title, and its creation time when the file
    # gives one (else every import would differ by "now").
    return (url, title or None, created_at)


async def import_links(
    session: AsyncSession,
    *,
    acting: Acting,
    rows: Iterable[ImportRow | RowError],
    ctx: LinkContext,
    quota: LinkQuota | None,
    format_name: str,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Create a link per good row; report bad rows and clashing keys by line.

    Importing a file twice creates nothing the second time: a row whose key this user already
    has for the same URL is skipped, and so is a row without a key that matches one of the
    user's links by URL, title and (when the row has one) creation time, as many times as
    such links exist.
    Imported links send no webhook events (a migration is not 100,000 news items). They draw
    on the import budget (`quota`, None for the CLI): once it is spent nothing more is
    created and `refused` says why. The link cache forgets the new keys after the commit
    (a key looked up before the import may be remembered as unknown).
    `progress` is told, after each CHUNK rows read and at the end, how many rows were read
    since it was last told (the dashboard streams it to a progress bar, the CLI draws one).
    """
    # Held for the whole import (one transaction): its deletion waits for the import, or
    # the import finds it gone (NotFound) rather than failing on the links' foreign key.
    await hold_workspace(session, acting.workspace_id, writer=acting.user)
    result = ImportResult(format=format_name)
    existing = _Existing()
    # ident (domain and key) -> (line, url) of rows accepted so far
    in_file: dict[str, tuple[int, str]] = {}
    domain_ids: dict[str, int | str | None] = {}  # hostname -> id (None: default) or why not
    chunk: list[dict[str, Any]] = []
    counted = 0

    created: list[str] = []
    after_commit(session, partial(ctx.cache.invalidate_many, created))

    async def flush() -> None:
        nonlocal counted
        if result.refused is None:
            created.extend(
                await _import_chunk(
                    session, chunk, acting.workspace_id, ctx, quota, result, existing
                )
            )
        if progress:
            progress(counted)
        counted = 0
        chunk.clear()

    for row in rows:
        counted += 1
        if isinstance(row, RowError):
            result.errors.append(row)
        else:
            values = _validate(row, acting, ctx)
            if not isinstance(values, str) and values["_password"] is not None:
                values["password_hash"] = await hash_password(values["_password"])
            if not isinstance(values, str) and row.domain is not None:
                values = await _on_domain(session, acting, row.domain, values, ctx, domain_ids)
            ident = (
                link_ident(values["domain_id"], values["key"])
                if not isinstance(values, str) and values["key"] is not None
                else None
            )
            if isinstance(values, str):
                result.errors.append(RowError(row.line, values))
            elif ident is not None and ident in in_file:
                line, url = in_file[ident]
                if url == values["url"]:
                    result.skipped += 1
                else:
                    detail = f"the key '{values['key']}' is already used on line {line}"
                    result.errors.append(RowError(row.line, detail))
            else:
                if ident is not None:
                    in_file[ident] = (row.line, values["url"])
                chunk.append(values)
        # By rows read, not rows kept: a file of bad rows reports progress too.
        if counted >= CHUNK:
            await flush()
    await flush()
    result.errors.sort(key=lambda e: e.line)
    counts = {"format": format_name, "created": len(created), "skipped": result.skipped}
    await record_acting(session, acting, "links.imported", detail=counts)
    return result


async def _on_domain(
    session: AsyncSession,
    acting: Acting,
    hostname: str,
    values: dict[str, Any],
    ctx: LinkContext,
    known: dict[str, int | str | None],
) -> dict[str, Any] | str:
    """The row on its `domain` (the same rule as the API: verified, the owner's or shared),
    or why it cannot be; each hostname is looked up once per import."""
    if hostname not in known:
        try:
            domain = await domains_service.domain_for_links(
                session, acting=acting, hostname=hostname, ctx=ctx
            )
            known[hostname] = domain.id if domain is not None else None
        except DomainError as exc:
            known[hostname] = f"domain: {describe(exc.detail)}"
    found = known[hostname]
    if isinstance(found, str):
        return found
    return {**values, "domain_id": found}


async def _import_chunk(
    session: AsyncSession,
    chunk: list[dict[str, Any]],
    workspace_id: int,
    ctx: LinkContext,
    quota: LinkQuota | None,
    result: ImportResult,
    existing: _Existing,
) -> list[str]:
    """Insert the chunk's rows that may and can be links; the idents created."""
    blocked = await validation.blocked_urls(
        session, (url for values in chunk for _, url in values["_targets"]), ctx
    )
    by_domain: dict[int | None, list[dict[str, Any]]] = {}
    for values in chunk:
        refused = next(((f, url) for f, url in values["_targets"] if url in blocked), None)
        if refused is not None:
            name, url = refused
            detail = f"{name}: links to {blocked[url]} (and its subdomains) are not allowed"
            result.errors.append(RowError(values["_line"], detail))
        else:
            by_domain.setdefault(values["domain_id"], []).append(dict(values))
    created: list[str] = []
    for domain_id, pending in by_domain.items():
        if result.refused is None:
            keys = await _import_on_domain(
                session, pending, workspace_id, ctx, quota, result, existing, domain_id
            )
            created += [link_ident(domain_id, key) for key in keys]
    return created


async def _import_on_domain(
    session: AsyncSession,
    pending: list[dict[str, Any]],
    workspace_id: int,
    ctx: LinkContext,
    quota: LinkQuota | None,
    result: ImportResult,
    existing: _Existing,
    domain_id: int | None,
) -> list[str]:
    """Insert the rows of one domain that can be links; the keys created."""
    pending = await _drop_imported(session, pending, workspace_id, existing, result)
    pending = await _drop_taken(session, pending, workspace_id, result, ctx)
    grant = await quota.take(len(pending), budget="import") if quota else unlimited(len(pending))
    if grant.granted < len(pending):
        result.refused = grant.refused
        pending = pending[: grant.granted]
    created: list[str] = []
    for attempt in range(INSERT_ATTEMPTS):
        if attempt:
            pending = await _drop_taken(session, pending, workspace_id, result, ctx)
        if not pending:
            break
        inserted = await _insert(session, pending, domain_id)
        created += inserted
        # The rest lost a race for their key since our look-up: look again.
        taken_now = set(inserted)
        pending = [values for values in pending if values["key"] not in taken_now]
        for values in pending:
            if values["key_strategy"] == "random":
                values["key"] = None
    for values in pending:
        result.errors.append(RowError(values["_line"], "could not be saved (keys kept clashing)"))
    result.created += len(created)
    await grant.unused(grant.granted - len(created))
    return created


async def _drop_imported(
    session: AsyncSession,
    chunk: list[dict[str, Any]],
    workspace_id: int,
    existing: _Existing,
    result: ImportResult,
) -> list[dict[str, Any]]:
    """The rows without a key that are not already links of this user (see _Existing)."""
    new = {v["url_md5"] for v in chunk if v["key"] is None} - existing.loaded
    if new:
        existing.loaded |= new
        # Inlined, as in _taken (hex digests only), for the same reason.
        md5s: BindParameter[list[str]] = bindparam(
            "md5s", sorted(new), expanding=True, literal_execute=True
        )
        found = await session.execute(
            select(col(Link.url), col(Link.title), col(Link.created_at)).where(
                col(Link.workspace_id) == workspace_id, col(Link.url_md5).in_(md5s)
            )
        )
        for url, title, created_at in found:
            existing.left[_signature(url, title, None)] += 1
            existing.left[_signature(url, title, created_at)] += 1
    kept = []
    for values in chunk:
        if values["key"] is None:
            given = values["created_at"] if values["_created_given"] else None
            signature = _signature(values["url"], values["title"], given)
            if existing.left[signature] > 0:
                existing.left[signature] -= 1
                result.skipped += 1
                continue
        kept.append(values)
    return kept


async def _drop_taken(
    session: AsyncSession,
    chunk: list[dict[str, Any]],
    workspace_id: int,
    result: ImportResult,
    ctx: LinkContext,
) -> list[dict[str, Any]]:
    """The rows whose keys are free; random keys are drawn (and redrawn) here."""
    for values in chunk:
        if values["key"] is None:
            values["key"] = ctx.key(random_key())
    domain_id = chunk[0]["domain_id"] if chunk else None  # one domain per call
    for _ in range(RANDOM_KEY_ROUNDS):
        taken = await _taken(session, [v["key"] for v in chunk], domain_id)
        redraw = [v for v in chunk if v["key_strategy"] == "random" and v["key"] in taken]
        if not redraw:
            break
        for values in redraw:
            values["key"] = ctx.key(random_key())
    kept: list[dict[str, Any]] = []
    for values in chunk:
        owner_url = taken.get(values["key"])
        if owner_url is None:
            kept.append(values)
        elif values["key_strategy"] == "random":
            result.errors.append(RowError(values["_line"], "could not find a free key"))
        elif owner_url == (workspace_id, values["url"]):
            result.skipped += 1
        else:
            detail = f"the key '{values['key']}' is already taken"
            result.errors.append(RowError(values["_line"], detail))
    return kept


async def _taken(
    session: AsyncSession, keys: list[str], domain_id: int | None
) -> dict[str, tuple[int, str]]:
    if not keys:
        return {}  # an empty IN () is a full scan on PostgreSQL
    # The keys are inlined (they are all valid keys: [0-9A-Za-z_-] only). As bound parameters
    # PostgreSQL reuses a generic plan made while the table was small, a sequential scan that
    # compares each row with 1000 parameters: 3 s a chunk at 100,000 links instead of 3 ms.
    inline: BindParameter[list[str]] = bindparam("keys", keys, expanding=True, literal_execute=True)
    rows = await session.execute(
        select(col(Link.key), col(Link.workspace_id), col(Link.url)).where(
            col(Link.key).in_(inline), _on(domain_id)
        )
    )
    return {key: (owner, url) for key, owner, url in rows}


def _on(domain_id: int | None) -> Any:
    return col(Link.domain_id).is_(None) if domain_id is None else col(Link.domain_id) == domain_id


def _insert_ignoring_taken_keys(dialect: str, domain_id: int | None) -> Any:
    # ON CONFLICT DO NOTHING instead of a savepoint per chunk: more than 64 subtransactions
    # in one PostgreSQL transaction overflow its subtransaction cache and every later
    # visibility check slows down (100,000 rows went from seconds to minutes).
    insert_ = (
        postgresql.insert(links_table) if dialect == "postgresql" else sqlite.insert(links_table)
    )
    if domain_id is None:
        # The default domain's keys: the partial unique index keeps them unique.
        return insert_.on_conflict_do_nothing(
            index_elements=["key"], index_where=col(Link.domain_id).is_(None)
        )
    return insert_.on_conflict_do_nothing(index_elements=["domain_id", "key"])


async def _insert(
    session: AsyncSession, chunk: list[dict[str, Any]], domain_id: int | None
) -> list[str]:
    """Insert the rows whose key is still free (executemany); returns the keys inserted."""
    rows = [{k: v for k, v in values.items() if not k.startswith("_")} for values in chunk]
    dialect = session.get_bind().dialect.name
    stmt = _insert_ignoring_taken_keys(dialect, domain_id).returning(
        links_table.c.id, links_table.c.key
    )
    ids = {key: link_id for link_id, key in await session.execute(stmt, rows)}
    tags = [
        {"link_id": ids[values["key"]], "tag": tag}
        for values in chunk
        if values["key"] in ids
        for tag in values["_tags"]
    ]
    if tags:
        await session.execute(insert(LinkTag), tags)
    return list(ids)


async def public_links(
    session: AsyncSession, links: list[Link], base_url: str
) -> dict[int, LinkPublic]:
    public = await links_service.to_public(session, links, base_url)
    return {link.id or 0: p for link, p in zip(links, public, strict=True)}
