"""Packaging hook: ship the top-level templates/ inside the wheel as shortener/templates/.

The templates stay at the top of the repository (where DESIGN.md puts them); an editable install
reads them from there (shortener.templating falls back to it), a built wheel carries a copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithTemplates(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # editable installs read ROOT/templates directly
        target = Path(self.build_lib) / "shortener" / "templates"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ROOT / "templates", target)


setup(cmdclass={"build_py": BuildWithTemplates})
