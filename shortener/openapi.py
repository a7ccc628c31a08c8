"""Error answers, described once for the OpenAPI document (and so for clients and fuzzers).

Every error body is `{"detail": ...}`: a message, or for 422 a list of field problems.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorMessage(BaseModel):
    detail: Any


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for routes or routers that can answer these error statuses."""
    return {status: {"model": ErrorMessage, "description": _WHAT[status]} for status in statuses}


_WHAT = {
    400: "Malformed request (e.g. a body that cannot be parsed)",
    401: "Not authenticated, or the token is invalid or expired",
    403: "Authenticated but not allowed",
    404: "No such resource (or not yours)",
    409: "Conflicts with what exists",
    410: "No longer valid (a used or expired link)",
    413: "Request body too large",
    422: "Invalid input",
    429: "Too many requests; see Retry-After",
    503: "A backing service is unavailable; retry later",
}
