"""Jinja templates: shipped inside the package (wheel) or read from the repository's templates/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from shortener.workspaces.paths import dashboard_url, workspace_slug


@pass_context
def _url(context: Any, path: str) -> str:
    """`{{ url('/dashboard/keys') }}`: a dashboard path as this page's workspace shows it."""
    request = context.get("request")
    return path if request is None else dashboard_url(request, path)


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
    return templates
