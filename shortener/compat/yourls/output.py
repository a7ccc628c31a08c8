"""YOURLS's answer formats: xml (the default), json, jsonp and simple (plain text).

As yourls_api_output does: the HTTP status is the result's `statusCode` (else `errorCode`, else
200); `simple` is only the plain-text answer and never part of the others; an unknown format
answers as `simple`.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.sax.saxutils import escape

from starlette.responses import Response

FORMATS = ("xml", "json", "jsonp", "simple")
# A JavaScript function name (dotted paths allowed): anything else could run as script in
# the caller's page, so it is refused rather than echoed.
CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
MAX_CALLBACK = 100
# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def valid_callback(callback: str) -> bool:
    return len(callback) <= MAX_CALLBACK and CALLBACK.fullmatch(callback) is not None


def status_of(result: dict[str, Any]) -> int:
    code = result.get("statusCode", result.get("errorCode", 200))
    try:
        status = int(code)
    except (TypeError, ValueError):
        return 200
    return status if 200 <= status <= 599 else 200


def render(result: dict[str, Any], fmt: str, callback: str | None) -> Response:
    result = dict(result)
    simple = result.pop("simple", None)
    status = status_of(result)
    if fmt == "json":
        return Response(_json(result), status, media_type="application/json")
    if fmt == "jsonp":
        body = f"{callback or ''}({_json(result)})"
        return Response(body, status, media_type="application/javascript")
    if fmt == "xml":
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + _xml("result", result)
        return Response(body, status, media_type="application/xml")
    return Response("" if simple is None else str(simple), status, media_type="text/plain")


def _json(result: dict[str, Any]) -> str:
    # As PHP's json_encode: "/" escaped as "\/" is not needed by any parser; plain is kept.
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


def _xml(tag: str, value: Any) -> str:
    if isinstance(value, dict):
        inner = "".join(_xml(str(k), v) for k, v in value.items())
        return f"<{tag}>{inner}</{tag}>"
    if isinstance(value, list):
        return "".join(_xml(tag, item) for item in value)
    if value is None:
        return f"<{tag}/>"
    if isinstance(value, bool):
        value = int(value)
    return f"<{tag}>{escape(_NOT_XML.sub('', str(value)))}</{tag}>"
