"""Route validators built once per test process, not once per app.

FastAPI builds every route's validators (a pydantic TypeAdapter for each parameter, body and
response model) again for each app, the first time a request walks past the route: ~0.45 s of
CPU for this service's 180 routes. The suite makes an app per test, and in the API tests half
of all CPU went there (tests/links and tests/stats, measured with a timer around FastAPI's
route set-up: 86 s of 175). Production makes one app per process and is not affected.

A validator depends only on what it validates, which is the same declaration in every app of
the process, so the first one built for it serves the rest. Classes are told apart by identity
(FastAPI makes a body model class per route and app; each keeps its own validator), the rest
of a declaration by its repr; a declaration whose repr names an object's address (a default
factory, say) simply gets a validator of its own, as without this module.
"""

from __future__ import annotations

from typing import Any

from fastapi._compat import v2
from pydantic import TypeAdapter


def share_route_validators() -> None:
    built: dict[tuple[Any, ...], TypeAdapter[Any]] = {}
    build = v2.ModelField.__post_init__

    def post_init(field: v2.ModelField) -> None:
        info = v2.asdict(field.field_info)
        annotation = info["annotation"]
        key = (
            id(annotation) if isinstance(annotation, type) else repr(annotation),
            repr(info["metadata"]),
            repr(sorted(info["attributes"].items())),
            repr(field.config),
        )
        adapter = built.get(key)
        if adapter is None:
            build(field)
            built[key] = field._type_adapter  # keeps a class alive, so its id stays its own
        else:
            field._type_adapter = adapter

    v2.ModelField.__post_init__ = post_init  # type: ignore[method-assign]
