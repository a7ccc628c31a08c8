from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shortener.links.schemas import LinkPublic

MAX_BULK = 1000


class BulkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items are checked one by one (a bad item is an error in the answer, not a 422 for all);
    # more than MAX_BULK is a 422 for the whole request.
    links: Annotated[
        list[Any],
        Field(max_length=MAX_BULK, description="link creation bodies, as for POST /api/links"),
    ]


class BulkResult(BaseModel):
    index: int
    status: Literal["created", "existing", "error"]
    link: LinkPublic | None = None
    detail: str | None = None


class BulkResponse(BaseModel):
    results: list[BulkResult]


class ImportErrorOut(BaseModel):
    line: int
    detail: str


class ImportResponse(BaseModel):
    format: str
    created: int
    skipped: int
    errors: list[ImportErrorOut]
