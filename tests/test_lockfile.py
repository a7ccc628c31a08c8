"""The lock files agree with pyproject.toml: a dependency added to (or narrowed in) pyproject
without `bash .ci/lock` fails here, in CI, before an install from the lock leaves it out."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, set[str]]:
    """name -> pinned versions (a universal lock may pin two, under different markers)."""
    found: dict[str, set[str]] = {}
    for name, version in PIN.findall((ROOT / ".ci" / lock).read_text()):
        found.setdefault(canonicalize_name(name), set()).add(version)
    return found


def declared(*, dev: bool) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = [Requirement(line) for line in project["dependencies"]]
    if dev:
        found += [Requirement(line) for line in project["optional-dependencies"]["dev"]]
    return found


@pytest.mark.parametrize(
    ("lock", "dev"), [("requirements.lock", False), ("requirements-dev.lock", True)]
)
def test_every_dependency_is_pinned_within_its_range(lock: str, dev: bool) -> None:
    locked = pins(lock)
    wrong = []
    for requirement in declared(dev=dev):
        versions = locked.get(canonicalize_name(requirement.name), set())
        if not any(requirement.specifier.contains(v, prereleases=True) for v in versions):
            wrong.append(f"{requirement} (locked: {sorted(versions) or 'nothing'})")
    assert not wrong, f"pyproject.toml and .ci/{lock} disagree; run `bash .ci/lock`: {wrong}"


def test_the_two_locks_pin_the_same_versions() -> None:
    run, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    differ = {name: (v, dev.get(name)) for name, v in run.items() if dev.get(name) != v}
    assert not differ, f"run `bash .ci/lock`: {differ}"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_carries_hashes(lock: str) -> None:
    # pip's hash-checking mode refuses the whole file if one requirement lacks a hash.
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / ".ci" / lock).read_text())
    bare = [e.split()[0] for e in entries if PIN.match(e) and "--hash=sha256:" not in e]
    assert not bare
