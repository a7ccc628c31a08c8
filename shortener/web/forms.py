"""Dashboard forms: HTML form fields to the API's schemas, and errors back to form fields.

The same models (LinkCreate, LinkUpdate, UserCreate) and services validate the forms as the
API, so a form shows, beside the field, the very message the API would have answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from shortener.errors import DomainError
from shortener.links.schemas import LinkCreate, LinkPublic, LinkUpdate

Errors = dict[str, str]
LINK_FIELDS = (
    "url",
    "alias",
    "title",
    "tags",
    "expires_at",
    "max_clicks",
    "password",
    "redirect_type",
    "domain",
    "key",  # the edit form's: a link's new key
)


def form_values(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    """The submitted text of each field, to put back into the form when it is shown again."""
    values = {}
    for name in names:
        value = form.get(name)
        values[name] = value if isinstance(value, str) else ""
    return values


def text_and_choices(form: FormData, text: str, choices: str) -> dict[str, Any]:
    """A name or URL and a list of checkboxes (an API key's scopes, a webhook's events): what
    the schema reads, and what the form shows again."""
    value = form.get(text)
    return {
        text: value.strip() if isinstance(value, str) else "",
        choices: [c for c in form.getlist(choices) if isinstance(c, str)],
    }


def _blank_to_none(value: str) -> str | None:
    value = value.strip()
    return value or None


def _tags(value: str) -> list[str]:
    return [tag.strip() for tag in value.split(",") if tag.strip()]


def _int_or_text(value: str) -> int | str:
    # Hand pydantic an int where the text is one, so its own message covers everything else.
    value = value.strip()
    return int(value) if value.isdigit() else value


def _common(values: Mapping[str, str]) -> dict[str, Any]:
    max_clicks = _blank_to_none(values.get("max_clicks", ""))
    return {
        "url": values.get("url", "").strip(),
        "title": _blank_to_none(values.get("title", "")),
        "tags": _tags(values.get("tags", "")),
        "expires_at": _blank_to_none(values.get("expires_at", "")),
        "max_clicks": _int_or_text(max_clicks) if max_clicks else None,
        "redirect_type": _int_or_text(values.get("redirect_type", "") or "302"),
    }


def parse_create(values: Mapping[str, str]) -> LinkCreate:
    data = _common(values)
    data["alias"] = _blank_to_none(values.get("alias", ""))
    data["password"] = values.get("password") or None
    data["domain"] = _blank_to_none(values.get("domain", ""))  # blank: the default domain
    return LinkCreate.model_validate(data)


def parse_update(
    values: Mapping[str, str],
    *,
    remove_password: bool,
    is_active: bool,
    options: Mapping[str, Any] | None = None,
) -> LinkUpdate:
    """Every field is sent, so an emptied field clears the value (as `null` does in the API)."""
    data = _common(values) | dict(options or {})
    data["is_active"] = is_active
    if key := _blank_to_none(values.get("key", "")):
        data["key"] = key  # left empty: the key stays
    if remove_password:
        data["password"] = None
    elif values.get("password"):
        data["password"] = values["password"]
    return LinkUpdate.model_validate(data)


def _field_of(loc: Any, known: tuple[str, ...]) -> str | None:
    for part in loc if isinstance(loc, list | tuple) else [loc]:
        if isinstance(part, str) and part in known:
            return part
    return None


def validation_errors(exc: ValidationError, known: tuple[str, ...] = LINK_FIELDS) -> Errors:
    errors: Errors = {}
    for err in exc.errors():
        name = _field_of(err.get("loc", ()), known) or "form"
        errors.setdefault(name, str(err.get("msg", "invalid value")))
    return errors


def form_errors(exc: ValidationError | DomainError, known: tuple[str, ...]) -> Errors:
    """The schema's or the service's refusal, beside the fields it names."""
    if isinstance(exc, ValidationError):
        return validation_errors(exc, known)
    return domain_errors(exc, known)


def domain_errors(
    exc: DomainError, known: tuple[str, ...] = LINK_FIELDS, fallback: str = "form"
) -> Errors:
    """Invalid carries [{loc, msg}]; Conflict and others carry a sentence for `fallback`."""
    if isinstance(exc.detail, list):
        errors: Errors = {}
        for item in exc.detail:
            if isinstance(item, dict):
                name = _field_of(item.get("loc", ()), known) or fallback
                errors.setdefault(name, str(item.get("msg", "invalid value")))
        return errors or {fallback: "invalid value"}
    return {fallback: str(exc.detail)}


def edit_values(link: LinkPublic) -> dict[str, str]:
    """A link's fields as the edit form shows them."""
    return {
        "key": link.key,
        "url": link.url,
        "title": link.title or "",
        "tags": ", ".join(link.tags),
        "expires_at": link.expires_at.strftime("%Y-%m-%dT%H:%M") if link.expires_at else "",
        "max_clicks": str(link.max_clicks) if link.max_clicks is not None else "",
        "redirect_type": str(link.redirect_type),
    }
