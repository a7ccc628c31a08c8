"""The tags migration lower-cases tags and merges the spellings a link carried twice."""

from __future__ import annotations

import pytest

from shortener.migrate import upgrade
from tests.domains.test_domains_migration import _bool, _run
from tests.test_migrations import LINK, USER, _fresh_url

BEFORE_TAGS = "7d1e4b2a9c55"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_upgrade_merges_tags_that_differ_only_in_case(kind, tmp_path, request) -> None:
    url = _fresh_url(kind, tmp_path, request)
    upgrade(url, BEFORE_TAGS)
    _run(
        url,
        _bool(kind, USER.format(email="a@example.com")),
        _bool(kind, LINK.format(key="one", owner=1)),
        _bool(kind, LINK.format(key="two", owner=1)),
        "INSERT INTO link_tags (link_id, tag) VALUES (1, 'Dev'), (1, 'dev'), (1, 'DEV'),"
        " (1, 'Ünïcode'), (2, 'Dev'), (2, 'Ops'), (2, 'misc')",
    )
    upgrade(url)
    (tags,) = _run(url, "SELECT link_id, tag FROM link_tags ORDER BY link_id, tag")
    assert [tuple(row) for row in tags] == [
        (1, "dev"),
        (1, "ünïcode"),  # lower-cased as Python does, not as SQLite's ASCII-only lower()
        (2, "dev"),
        (2, "misc"),
        (2, "ops"),
    ]
