"""Shlink's errors: RFC 7807 problems with Shlink's `type` URIs, and the one mapping from ours.

Services raise our domain errors (shortener/errors.py); shortener/web/errors.py hands every
error under /rest/ to `problem_for`, which says what Shlink would have answered. Where only
the adapter knows the context (a tag's name, a slug), it raises a `ShlinkProblem` itself.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

from shortener.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
)

TYPE_BASE = "https://shlink.io/api/error/"
MEDIA_TYPE = "application/problem+json"

# Our field names as Shlink's clients know them, for `invalidElements`.
SHLINK_FIELDS = {
    "url": "longUrl",
    "alias": "customSlug",
    "expires_at": "validUntil",
    "max_clicks": "maxVisits",
    "forward_query": "forwardQuery",
    "rules": "redirectRules",
}


class ShlinkProblem(DomainError):
    """An answer only Shlink's API gives (a tag conflict, Mercure, an unknown domain)."""

    def __init__(self, status: int, code: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status_code = status
        self.code = code
        self.title = title
        self.extra = extra


def problem_body(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": TYPE_BASE + code, "title": title, "detail": detail, "status": status, **extra}


def problem_response(
    status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:  # fmt: skip
    return JSONResponse(
        problem_body(status, code, title, detail, **extra),
        status,
        headers=headers,
        media_type=MEDIA_TYPE,
    )


def invalid_data(elements: list[str], detail: str = "Provided data is not valid") -> ShlinkProblem:
    return ShlinkProblem(400, "invalid-data", "Invalid data", detail, invalidElements=elements)


def domain_not_found(authority: str) -> ShlinkProblem:
    return ShlinkProblem(
        404,
        "domain-not-found",
        "Domain not found",
        f'Domain with authority "{authority}" could not be found',
        authority=authority,
    )


def short_url_not_found(short_code: str, domain: str | None) -> ShlinkProblem:
    detail = f'No URL found with short code "{short_code}"'
    extra: dict[str, Any] = {"shortCode": short_code}
    if domain:
        detail += f' for domain "{domain}"'
        extra["domain"] = domain
    return ShlinkProblem(404, "short-url-not-found", "Short URL not found", detail, **extra)


def non_unique_slug(slug: str, domain: str | None) -> ShlinkProblem:
    detail = f'Provided slug "{slug}" is already in use'
    extra: dict[str, Any] = {"customSlug": slug}
    if domain:
        detail += f' for domain "{domain}"'
        extra["domain"] = domain
    return ShlinkProblem(400, "non-unique-slug", "Invalid custom slug", detail + ".", **extra)


def tag_not_found(tag: str) -> ShlinkProblem:
    return ShlinkProblem(
        404, "tag-not-found", "Tag not found", f'Tag with name "{tag}" could not be found', tag=tag
    )


def tag_conflict(old: str, new: str) -> ShlinkProblem:
    return ShlinkProblem(
        409,
        "tag-conflict",
        "Tag conflict",
        f"You cannot rename tag {old} to {new}, because it already exists",
        oldName=old,
        newName=new,
    )


def mercure_not_configured() -> ShlinkProblem:
    return ShlinkProblem(
        501,
        "mercure-not-configured",
        "Mercure integration not configured",
        "This Shlink instance is not integrated with a mercure hub.",
    )


def default_domain_redirects() -> ShlinkProblem:
    return ShlinkProblem(
        403,
        "invalid-domain",
        "Invalid domain",
        "You cannot configure default domain's redirects this way. "
        "Use the configuration or env vars.",
    )


def _invalid_elements(detail: Any) -> list[str]:
    if not isinstance(detail, list):
        return []
    names = []
    for item in detail:
        loc = [part for part in item.get("loc", ()) if part not in ("body", "query", "path")]
        name = str(loc[0]) if loc else ""
        names.append(SHLINK_FIELDS.get(name, name))
    return [name for name in dict.fromkeys(names) if name]


def _message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return "; ".join(str(item.get("msg", "")) for item in detail if isinstance(item, dict))
    return str(detail)


def problem_for(request: Request, exc: Exception) -> JSONResponse:
    """What Shlink answers where we raised `exc` (a domain error or FastAPI's validation)."""
    headers = getattr(exc, "headers", None)
    if isinstance(exc, ShlinkProblem):
        return problem_response(
            exc.status_code, exc.code, exc.title, str(exc.detail), headers, **exc.extra
        )
    if isinstance(exc, Unauthorized):
        # Shlink tells "no key sent" from "a key that is not valid".
        if not request.headers.get("x-api-key") and not request.query_params.get("apiKey"):
            return problem_response(
                401,
                "missing-authentication",
                "Invalid authorization",
                'Expected one of the following authentication headers, ["X-Api-Key"], '
                "but none were provided",
                expectedTypes=["X-Api-Key"],
            )
        return problem_response(
            401,
            "invalid-api-key",
            "Invalid API key",
            "Provided API key does not exist or is invalid.",
        )
    if isinstance(exc, NotFound) and "shortCode" in request.path_params:
        found = short_url_not_found(
            request.path_params["shortCode"], request.query_params.get("domain")
        )
        return problem_for(request, found)
    if isinstance(exc, NotFound):
        return problem_response(404, "not-found", "Not found", str(exc.detail))
    if isinstance(exc, Forbidden):
        # Shlink's only forbidden problem; here it also stands for a key's missing scope.
        return problem_response(
            403, "forbidden-tag-operation", "Forbidden operation", str(exc.detail)
        )
    if isinstance(exc, Invalid) or (isinstance(exc, DomainError) and exc.status_code == 422):
        detail = getattr(exc, "detail", None)
        return problem_response(
            400,
            "invalid-data",
            "Invalid data",
            _message(detail) or "Provided data is not valid",
            invalidElements=_invalid_elements(detail),
        )
    if isinstance(exc, Conflict):
        return problem_response(409, "conflict", "Conflict", str(exc.detail))
    if isinstance(exc, TooManyRequests):
        return problem_response(
            429, "too-many-requests", "Too many requests", str(exc.detail), headers
        )
    status = getattr(exc, "status_code", 400)
    detail = str(getattr(exc, "detail", "")) or "Bad request"
    if status == 404:
        return problem_response(404, "not-found", "Not found", "Requested route does not exist.")
    if status == 405:
        return problem_response(405, "method-not-allowed", "Method not allowed", detail, headers)
    return problem_response(status, "invalid-data", "Invalid data", detail, headers)
