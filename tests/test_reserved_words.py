"""Every route of the app starts with a reserved word.

The redirect path runs before FastAPI and takes every path whose first segment is not reserved:
a key-shaped one is looked up, any other GET (`/.env`, `/wp-login.php`) is answered 404 and
recorded as a visit to an unknown link. A route outside RESERVED would never be reached
(`/yourls-api.php` was not, until this test).
"""

from collections.abc import Iterable, Iterator
from typing import Any

from shortener.keys import RESERVED
from shortener.main import ShortenerApp


def _paths(routes: Iterable[Any], prefix: str = "") -> Iterator[str]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        if included is not None:
            yield from _paths(included.routes, prefix + route.include_context.prefix)
        elif getattr(route, "path", None) is not None:
            yield prefix + route.path


def test_every_route_starts_with_a_reserved_word(app: ShortenerApp) -> None:
    paths = set(_paths(app.router.routes))
    assert len(paths) > 50  # the walk found the routers, not just the app's own few routes
    assert "/api/links" in paths and "/yourls-api.php" in paths
    first = {path.strip("/").split("/")[0] for path in paths} - {""}  # "" is the home page
    assert {word for word in first if word.lower() not in RESERVED} == set()
