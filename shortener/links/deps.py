"""Typed dependencies of the link routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shortener.links.context import LinkContext
from shortener.links.quota import LinkQuota
from shortener.models import User
from shortener.ratelimit import peer_address
from shortener.runtime import runtime_of
from shortener.workspaces.deps import LinksWriter


async def link_context(request: Request) -> LinkContext:
    # The domains read again when they may have changed: the loop check refuses them all.
    ctx: LinkContext = runtime_of(request).link_context
    return await ctx.fresh()


def quota_for(request: Request, user: User) -> LinkQuota:
    """The link-creation limits of `user` calling from this request's address."""
    return LinkQuota(runtime_of(request).rate_limiter, user.id or 0, peer_address(request))


def link_quota(request: Request, acting: LinksWriter) -> LinkQuota:
    return quota_for(request, acting.user)


LinkContextDep = Annotated[LinkContext, Depends(link_context)]
LinkQuotaDep = Annotated[LinkQuota, Depends(link_quota)]
