"""Request and response models of the webhooks API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shortener.urls import MAX_URL_LENGTH

Event = Literal["link.created", "link.updated", "link.deleted", "link.clicked"]
EVENTS: tuple[str, ...] = get_args(Event)


def _unique(events: list[Event]) -> list[Event]:
    return [e for e in EVENTS if e in events]  # type: ignore[misc]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]
    events: Annotated[list[Event], Field(min_length=1, max_length=8), AfterValidator(_unique)]


class WebhookPublic(BaseModel):
    id: int
    url: str
    events: list[str]
    created_at: datetime


class WebhookCreated(WebhookPublic):
    # Only in the answer to the creation, like an API key.
    secret: str


class DeliveryPublic(BaseModel):
    id: int
    event: str
    # pending (waiting for its first or next attempt), delivered, or failed (gave up).
    status: str
    status_code: int | None
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
