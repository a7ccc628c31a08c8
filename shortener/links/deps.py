from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shortener.links.service import LinkContext


def link_context(request: Request) -> LinkContext:
    return request.app.state.link_context  # type: ignore[no-any-return]


LinkContextDep = Annotated[LinkContext, Depends(link_context)]
