"""The path parameter of every route that names a link by key: keys may hold '/'.

Starlette's `path` convertor would also take "" and a trailing '/': `/api/links/` would then
be "the link ''" (404) instead of Starlette's redirect to `/api/links`, and POST `/api/links/`
a 405. This one takes one or more non-empty segments and nothing else.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class LinkKeyConvertor(Convertor[str]):
    regex = r"[^/]+(?:/[^/]+)*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("linkkey", LinkKeyConvertor())

# In a route's path: "/api/links/" + KEY + "/stats".
KEY = "{key:linkkey}"
