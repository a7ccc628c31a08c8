"""Request and response models of the API keys API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shortener.fields import OneLine

Scope = Literal["links:read", "links:write", "stats:read"]
ALL_SCOPES: frozenset[str] = frozenset(get_args(Scope))
# What a key gets when its creator names no scopes. Spelled out, not ALL_SCOPES: a scope added
# later (a more powerful one) must be asked for, not handed to every key made without a list.
DEFAULT_SCOPES: tuple[Scope, ...] = ("links:read", "links:write", "stats:read")


def _unique(scopes: list[Scope]) -> list[Scope]:
    return sorted(set(scopes))  # type: ignore[return-value]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100), OneLine]
    scopes: Annotated[
        list[Scope],
        Field(
            min_length=1,
            max_length=3,
            description="What the key may do. Omitted: " + ", ".join(DEFAULT_SCOPES) + ".",
        ),
        AfterValidator(_unique),
    ] = Field(default_factory=lambda: list(DEFAULT_SCOPES))


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    scopes: list[str]
    # The first characters of the key, to tell keys apart; never enough to use one.
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    # Who made it (their e-mail address): the caller, unless an owner or admin asked for
    # every member's keys.
    created_by: str


class ApiKeyCreated(ApiKeyPublic):
    # Only in the answer to the creation: the key is not kept anywhere in clear.
    key: str
