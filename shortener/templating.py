"""Jinja templates: shipped inside the package (wheel) or read from the repository's templates/."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from shortener.workspaces.paths import dashboard_url, workspace_slug


@pass_context
def _url(context: Any, path: str) -> str:
    """`{{ url('/dashboard/keys') }}`: a dashboard path as this page's workspace shows it."""
    request = context.get("request")
    return path if request is None else dashboard_url(request, path)


# How pages write a moment (times are UTC, as stored): one format a precision.
_TIME_FORMATS = {
    "short": "%b %-d",
    "recent": "%b %-d, %H:%M:%S",  # a live feed's latest visits: this year's
    "day": "%b %-d, %Y",
    "minute": "%b %-d, %Y %H:%M",
    "second": "%b %-d, %Y %H:%M:%S",
}
Precision = Literal["short", "recent", "day", "minute", "second"]


def shown_time(value: datetime, precision: Precision = "minute") -> str:
    """`{{ link.created_at | when }}`, `{{ member.joined_at | when("day") }}`: a moment as the
    dashboard writes it (`Nov 29, 2026 18:05`); the pages add "UTC" where it is not obvious."""
    return value.strftime(_TIME_FORMATS[precision])


def templates_dir() -> Path:
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


@pass_context
def _workspace_slug(context: Any) -> str | None:
    """The /w/{slug}/ this page was asked under (None: the personal workspace)."""
    request = context.get("request")
    return None if request is None else workspace_slug(request)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(templates_dir()))
    templates.env.autoescape = True
    templates.env.globals["url"] = _url
    templates.env.globals["workspace_slug"] = _workspace_slug
    templates.env.filters["when"] = shown_time
    return templates
