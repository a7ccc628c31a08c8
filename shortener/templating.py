"""Jinja templates: shipped inside the package (wheel) or read from the repository's templates/."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates


def templates_dir() -> Path:
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(templates_dir()))
    templates.env.autoescape = True
    return templates
