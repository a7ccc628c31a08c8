"""Domains: add, list, prove, change and remove the host names links can live on.

The default domain (BASE_URL's host) has no row: it is the one every link without a domain is
on, shown first in lists with id 0; its redirects are site settings an admin sets with
PATCH /api/domains/0. A custom domain belongs to the workspace it was added in, or is
shared (added by an admin for everyone); links may use it once it is verified.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import partial

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from shortener.audit.service import record
from shortener.db import READ_ONLY, after_commit
from shortener.domains.hostnames import normalise_hostname, short_url
from shortener.domains.hosts import DEFAULT_SETTINGS, DOMAINS_CHANGED, REDIRECTS
from shortener.domains.proofs import DomainProofs, dns_name, http_path
from shortener.domains.schemas import DomainCreate, DomainPublic, DomainUpdate, Verification
from shortener.errors import Conflict, Forbidden, NotFound
from shortener.keys import link_ident
from shortener.links import validation
from shortener.links.context import LinkContext
from shortener.models import Domain, Link, SiteSetting, utcnow
from shortener.workspaces.acting import Acting
from shortener.workspaces.service import hold_workspace

DEFAULT_ID = 0
# A host name has one row. Until it is proven, a claim keeps everyone else from adding the
# name; past this it lapses, and whoever adds the name next takes it over: a claim made only to
# keep a domain from its owner holds it this long (an administrator may delete it sooner).
UNPROVEN_CLAIM = timedelta(days=3)


def public(domain: Domain) -> DomainPublic:
    token = domain.verification_token
    return DomainPublic(
        id=domain.id or 0,
        hostname=domain.hostname,
        is_default=False,
        shared=domain.shared,
        verified=domain.verified,
        verification=Verification(
            dns_name=dns_name(domain.hostname),
            dns_value=token,
            http_path=http_path(token),
            http_body=token,
        ),
        root_url=domain.root_url,
        not_found_url=domain.not_found_url,
        expired_url=domain.expired_url,
        created_at=domain.created_at,
    )


async def default_domain(session: AsyncSession, ctx: LinkContext) -> DomainPublic:
    """The default domain as the API shows it: id 0, its redirects from the site settings."""
    rows = await session.execute(
        select(col(SiteSetting.name), col(SiteSetting.value)).where(
            col(SiteSetting.name).in_(DEFAULT_SETTINGS)
        )
    )
    return default_public(ctx, {DEFAULT_SETTINGS[name]: value for name, value in rows})


def default_public(ctx: LinkContext, urls: Mapping[str, str | None] | None = None) -> DomainPublic:
    """The default domain, with its redirects `urls` (see default_domain)."""
    urls = urls or {}
    return DomainPublic(
        id=DEFAULT_ID,
        hostname=ctx.own_host,
        is_default=True,
        shared=True,
        verified=True,
        verification=None,
        root_url=urls.get("root_url"),
        not_found_url=urls.get("not_found_url"),
        expired_url=urls.get("expired_url"),
        created_at=None,
    )


async def update_default(
    session: AsyncSession, *, acting: Acting, data: DomainUpdate, ctx: LinkContext
) -> DomainPublic:
    """Set the default domain's redirects (admins only: every user's links live there).
    Every worker reads them again once this commits, as for a custom domain's."""
    if not acting.user.is_admin:
        raise Forbidden("only administrators may change the default domain")
    changes = _checked_redirects(data, ctx)
    by_field = {field: name for name, field in DEFAULT_SETTINGS.items()}
    for field, value in changes.items():
        await session.merge(SiteSetting(name=by_field[field], value=value))
    await session.flush()
    _announce(session, ctx)
    return await default_domain(session, ctx)


def _checked_redirects(data: DomainUpdate, ctx: LinkContext) -> dict[str, str | None]:
    """The redirects `data` sets (None clears one), each checked as a link's fallback is:
    a web URL that does not loop back to us."""
    changes = data.model_dump(exclude_unset=True)
    for name in REDIRECTS:
        if changes.get(name) is not None:
            changes[name] = validation.check_target(changes[name], ctx, field=name)
    return changes


def _announce(session: AsyncSession, ctx: LinkContext) -> None:
    """Every worker reads its domains again once this commits (see domains/hosts.py)."""
    after_commit(session, partial(ctx.cache.invalidate, DOMAINS_CHANGED))


async def create_domain(
    session: AsyncSession,
    *,
    acting: Acting | None,
    data: DomainCreate,
    ctx: LinkContext,
    operator: bool = False,
) -> Domain:
    """A new domain of `acting`'s workspace (None with `operator`: the CLI's, for admins
    only, or shared).

    `operator` (the CLI) may do what an admin may: share it, or skip the proof."""
    hostname = normalise_hostname(data.hostname)
    if (data.shared or data.verified) and not (
        operator or (acting is not None and acting.user.is_admin)
    ):
        raise Forbidden("only administrators may add shared or pre-verified domains")
    if hostname == ctx.own_host:
        raise Conflict(f"{hostname} is the default domain")
    if not data.shared and acting is not None:
        await hold_workspace(session, acting.workspace_id, writer=acting.user)
    await _lapse_unproven_claim(session, hostname)
    domain = Domain(
        hostname=hostname,
        owner_id=None if data.shared or acting is None else acting.user.id,
        workspace_id=None if data.shared or acting is None else acting.workspace_id,
        shared=data.shared,
        verified=data.verified,
        verification_token=secrets.token_urlsafe(24),
    )
    try:
        async with session.begin_nested():
            session.add(domain)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"the domain {hostname} is already taken") from None
    _announce(session, ctx)
    await record(
        session,
        actor=acting.user if acting is not None else None,
        action="domain.created",
        target=hostname,
        workspace_id=domain.workspace_id,
    )
    return domain


async def _lapse_unproven_claim(session: AsyncSession, hostname: str) -> None:
    """Make way for a new claim of `hostname`: delete an unproven one past UNPROVEN_CLAIM
    (no link can be on a domain before it is proven); Conflict while another claim holds."""
    found = (
        await session.execute(select(Domain).where(col(Domain.hostname) == hostname))
    ).scalar_one_or_none()
    if found is None:
        return
    if found.verified:
        raise Conflict(f"the domain {hostname} is already taken")
    lapses = found.created_at + UNPROVEN_CLAIM
    if lapses > utcnow():
        raise Conflict(
            f"the domain {hostname} is already claimed and not proven yet; an unproven claim "
            f"lapses {UNPROVEN_CLAIM.days} days after it is made (at "
            f"{lapses:%Y-%m-%d %H:%M} UTC), or an administrator may delete it sooner"
        )
    await session.delete(found)
    await session.flush()
    await record(
        session,
        actor=None,
        action="domain.deleted",
        target=hostname,
        detail={"reason": "an unproven claim lapsed"},
        workspace_id=found.workspace_id,
    )


async def list_domains(session: AsyncSession, *, acting: Acting) -> list[Domain]:
    query = select(Domain).order_by(col(Domain.hostname))
    if not acting.user.is_admin:
        query = query.where(
            or_(col(Domain.workspace_id) == acting.workspace_id, col(Domain.shared).is_(True))
        )
    return list((await session.execute(query)).scalars())


def _check_manages(acting: Acting, domain: Domain | None) -> Domain:
    """The domain, if `acting` may change it (its workspace's, or an admin); 404 otherwise."""
    if domain is None or not (acting.user.is_admin or domain.workspace_id == acting.workspace_id):
        if domain is not None and domain.shared:
            raise Forbidden("only administrators may change a shared domain")
        raise NotFound("domain not found")
    return domain


async def get_managed(session: AsyncSession, *, acting: Acting, domain_id: int) -> Domain:
    """The domain, if `acting` may change it, locked until the transaction ends: changes to it
    take turns, each reading what the last left (a PATCH of a domain deleted meanwhile failed
    on its UPDATE, a 500), and a deletion waits for the links being created on it (_usable)."""
    found = await session.get(Domain, domain_id, with_for_update=True, populate_existing=True)
    return _check_manages(acting, found)


async def update_domain(
    session: AsyncSession, *, acting: Acting, domain_id: int, data: DomainUpdate, ctx: LinkContext
) -> Domain:
    changes = _checked_redirects(data, ctx)
    domain = await get_managed(session, acting=acting, domain_id=domain_id)
    for name, value in changes.items():
        setattr(domain, name, value)
    session.add(domain)
    await session.flush()
    _announce(session, ctx)
    return domain


async def delete_domain(
    session: AsyncSession, *, acting: Acting, domain_id: int, force: bool, ctx: LinkContext
) -> None:
    """Remove the domain; with `force` its links move to the default domain first (refused,
    naming them, when their keys are taken there: nothing is lost)."""
    if domain_id == DEFAULT_ID:
        raise Conflict("the default domain (BASE_URL's) cannot be removed")
    domain = await get_managed(session, acting=acting, domain_id=domain_id)
    keys = list(
        (await session.execute(select(col(Link.key)).where(col(Link.domain_id) == domain.id)))
        .scalars()
        .all()
    )
    if keys and not force:
        raise Conflict(
            f"{len(keys)} link(s) use {domain.hostname}: delete them, or pass force=true to "
            "move them to the default domain"
        )
    if keys:
        await _move_to_default(session, domain, keys)
    idents = [link_ident(domain.id, key) for key in keys] + keys
    await session.delete(domain)
    await session.flush()
    _announce(session, ctx)
    detail = {"links_moved": len(keys)} if keys else None
    await record(
        session,
        actor=acting.user,
        action="domain.deleted",
        target=domain.hostname,
        detail=detail,
        workspace_id=domain.workspace_id,  # the domain's: an administrator acts across them
    )
    after_commit(session, partial(ctx.cache.invalidate_many, idents))


async def _move_to_default(session: AsyncSession, domain: Domain, keys: list[str]) -> None:
    """Move the domain's links (their `keys`) to the default domain; Conflict, naming them,
    when keys there clash. The unique key decides, not only the look-up before: a link made
    on the default domain meanwhile with one of the keys made the move fail (a 500)."""
    try:
        async with session.begin_nested():
            await _refuse_clashes(session, keys)
            await session.execute(
                update(Link).where(col(Link.domain_id) == domain.id).values(domain_id=None)
            )
    except IntegrityError:
        await _refuse_clashes(session, keys)
        raise


async def _refuse_clashes(session: AsyncSession, keys: list[str]) -> None:
    clashes = (
        await session.execute(
            select(col(Link.key)).where(col(Link.domain_id).is_(None), col(Link.key).in_(keys))
        )
    ).scalars()
    taken = sorted(clashes)
    if taken:
        raise Conflict(
            f"these keys are taken on the default domain, so their links cannot move "
            f"there: {', '.join(taken[:20])}"
        )


async def verify_domain(
    session: AsyncSession,
    *,
    acting: Acting,
    domain_id: int,
    proofs: DomainProofs,
    ctx: LinkContext,
    engine: AsyncEngine,
) -> Domain:
    """Look for either proof and mark the domain verified. The proofs go over the network
    (seconds, at worst): they are looked for on a read-only connection before the session's
    transaction begins, which on SQLite holds the write lock for every writer."""
    async with engine.connect() as conn:
        await conn.execution_options(**READ_ONLY)
        row = (await conn.execute(select(Domain).where(col(Domain.id) == domain_id))).first()
    found = _check_manages(acting, Domain.model_validate(row) if row is not None else None)
    if not found.verified:
        await _look_for_proof(found, proofs)
    domain = await get_managed(session, acting=acting, domain_id=domain_id)
    if not domain.verified:
        domain.verified = True
        session.add(domain)
        await session.flush()
        _announce(session, ctx)
        await record(
            session,
            actor=acting.user,
            action="domain.verified",
            target=domain.hostname,
            workspace_id=domain.workspace_id,
        )
    return domain


async def _look_for_proof(domain: Domain, proofs: DomainProofs) -> None:
    token = domain.verification_token
    name = dns_name(domain.hostname)
    path = http_path(token)
    proven = token in await proofs.txt_values(name)
    if not proven:
        proven = await proofs.http_body(domain.hostname, path) == token
    if not proven:
        raise Conflict(
            f"not proven yet: looked for a TXT record {name} holding {token!r}, and for "
            f"http://{domain.hostname}{path} answering {token!r}"
        )


async def domain_for_links(
    session: AsyncSession, *, acting: Acting, hostname: str | None, ctx: LinkContext
) -> Domain | None:
    """The domain a link of `acting` goes on (None: the default), from a hostname they gave.

    Only verified domains that are theirs or shared (any, for admins); any other answers as
    if it did not exist, so nobody learns which domains others have.

    The workspace the links go into and the domain are both held until the transaction ends
    (hold_workspace, _usable), in that order, as every creator of links takes them: deleting a
    workspace locks it, then deletes its domains (the other order could deadlock with it)."""
    if hostname is not None:
        await hold_workspace(session, acting.workspace_id)
    domain = await _usable(session, acting=acting, hostname=hostname, ctx=ctx, hold=True)
    if domain is not None and not domain.verified:
        raise Conflict(
            f"{domain.hostname} is not verified yet: prove it first (POST /api/domains/ID/verify)"
        )
    return domain


async def _usable(
    session: AsyncSession,
    *,
    acting: Acting,
    hostname: str | None,
    ctx: LinkContext,
    hold: bool = False,
) -> Domain | None:
    """The domain `hostname` names, if `acting` may use it: its workspace's, shared, or any
    for admins
    (None: the default domain). Any other answers as if it did not exist, so nobody learns
    which domains others have.

    `hold`: kept from being deleted until the transaction ends, for links about to be written
    on it. Its deletion locks it first (delete_domain), so it either waits for them and sees
    them (409 while links use it) or they wait for it and find no domain; without this, a
    link written between its check for links and its delete made it fail on the foreign key
    (a 500)."""
    if hostname is None:
        return None
    name = normalise_hostname(hostname, field="domain")
    if name == ctx.own_host:
        return None
    query = select(Domain).where(col(Domain.hostname) == name)
    if hold:
        query = query.with_for_update(read=True, key_share=True)  # FOR KEY SHARE
    domain = (await session.execute(query)).scalar_one_or_none()
    if domain is None or not (
        acting.user.is_admin or domain.shared or domain.workspace_id == acting.workspace_id
    ):
        raise NotFound(f"no domain {name} of yours")
    return domain


async def hostnames(session: AsyncSession, domain_ids: set[int]) -> dict[int, str]:
    if not domain_ids:
        return {}
    rows = await session.execute(
        select(col(Domain.id), col(Domain.hostname)).where(col(Domain.id).in_(domain_ids))
    )
    return {int(i or 0): h for i, h in rows}


async def link_short_urls(session: AsyncSession, links: Sequence[Link], base_url: str) -> list[str]:
    """Each link's short URL, on its own domain (one look-up for all their domains)."""
    hosts = await hostnames(session, {link.domain_id for link in links if link.domain_id})
    return [short_url(base_url, hosts.get(link.domain_id or 0), link.key) for link in links]


async def proof_body(session: AsyncSession, *, hostname: str, token: str) -> str | None:
    """What GET /.well-known/shortener/{token} answers on `hostname`: the token, when it is
    that domain's (None otherwise: 404)."""
    found = (
        await session.execute(
            select(func.count())
            .select_from(Domain)
            .where(col(Domain.hostname) == hostname, col(Domain.verification_token) == token)
        )
    ).scalar_one()
    return token if found else None


async def domain_id_of(
    session: AsyncSession, *, acting: Acting, hostname: str | None, ctx: LinkContext
) -> int | None:
    """`?domain=` of a route that names a link by key: the domain's id (None: the default
    domain, also when omitted); 404 for a domain this workspace cannot see."""
    domain = await _usable(session, acting=acting, hostname=hostname, ctx=ctx)
    return None if domain is None else domain.id
