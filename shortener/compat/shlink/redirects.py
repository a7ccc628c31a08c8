"""Shlink's domains and their "not found" redirects over our domains service.

Shlink has three redirects per domain, we have root_url, not_found_url and expired_url:
  baseUrlRedirect         <-> root_url       (a request for the domain's root)
  invalidShortUrlRedirect <-> not_found_url  (a key no link has)
  regular404Redirect      <-> not_found_url  (any other unknown path: ours answers both alike)
expired_url (an expired or used-up link) has no Shlink field and is left as it is. The default
domain's redirects (set by an admin with PATCH /api/domains/0) are shown as its own and as
Shlink's `defaultRedirects`; Shlink refuses to edit them over its API, and so do we.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shortener.compat.shlink import problems
from shortener.compat.shlink.schemas import (
    Domain,
    DomainList,
    DomainPage,
    DomainRedirects,
    DomainRedirectsIn,
)
from shortener.compat.shlink.service import build, default_authority, domain_id, is_default
from shortener.domains import service as domains
from shortener.domains.schemas import DomainPublic, DomainUpdate
from shortener.links.context import LinkContext
from shortener.models import Domain as OurDomain
from shortener.workspaces.acting import Acting


def redirects_of(domain: OurDomain | DomainPublic) -> DomainRedirects:
    return DomainRedirects(
        baseUrlRedirect=domain.root_url,
        regular404Redirect=domain.not_found_url,
        invalidShortUrlRedirect=domain.not_found_url,
    )


async def domain_list(session: AsyncSession, *, acting: Acting, ctx: LinkContext) -> DomainList:
    """The default domain, then the verified domains the acting workspace may put links on."""
    defaults = redirects_of(await domains.default_domain(session, ctx))
    default = Domain(domain=default_authority(ctx), isDefault=True, redirects=defaults)
    custom = [
        Domain(domain=d.hostname, isDefault=False, redirects=redirects_of(d))
        for d in await domains.list_domains(session, acting=acting)
        if d.verified
    ]
    return DomainList(domains=DomainPage(data=[default, *custom], defaultRedirects=defaults))


async def edit_redirects(
    session: AsyncSession, *, acting: Acting, body: DomainRedirectsIn, ctx: LinkContext
) -> DomainRedirects:
    """Change the redirects sent (those left out keep their value), as Shlink does."""
    if is_default(body.domain, ctx):
        # Shlink keeps the default domain's redirects in its configuration.
        raise problems.default_domain_redirects()
    which = await domain_id(session, acting=acting, domain=body.domain, ctx=ctx)
    if which is None:  # the default domain under another of its names
        raise problems.default_domain_redirects()
    sent = body.model_dump(exclude_unset=True)
    not_found = {sent[k] for k in ("invalidShortUrlRedirect", "regular404Redirect") if k in sent}
    if len(not_found) > 1:
        raise problems.invalid_data(
            ["invalidShortUrlRedirect", "regular404Redirect"],
            "this server has one redirect for both: send the same URL (or only one of them)",
        )
    changes = {}
    if "baseUrlRedirect" in sent:
        changes["root_url"] = sent["baseUrlRedirect"]
    if not_found:
        changes["not_found_url"] = not_found.pop()
    data = build(DomainUpdate, **changes)
    domain = await domains.update_domain(
        session, acting=acting, domain_id=which, data=data, ctx=ctx
    )
    return redirects_of(domain)
