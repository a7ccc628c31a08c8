"""Every setting is documented where an operator looks for it: `.env.example` (the file they
copy) and the README's configuration table. A setting added to config.py without either
fails here, not in an operator's first hour."""

from __future__ import annotations

import re
from pathlib import Path

from shortener.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _names() -> list[str]:
    return [name.upper() for name in Settings.model_fields]


def test_every_setting_is_in_the_env_example() -> None:
    text = (ROOT / ".env.example").read_text()
    missing = [n for n in _names() if not re.search(rf"^(# )?{n}=", text, re.MULTILINE)]
    assert missing == []


def test_every_setting_is_in_the_readme() -> None:
    text = (ROOT / "README.md").read_text()
    missing = [n for n in _names() if f"`{n}`" not in text]
    assert missing == []
