"""/w/{slug}/dashboard/...: the dashboard acting in the workspace {slug}.

The pages are the routes of /dashboard/...; the app takes the prefix off before routing, as a
`root_path` (the way a proxy's prefix is taken off), and leaves the slug in the scope, where
the dashboard's workspace dependency reads it (a slug the user is no member of: 404). Links
and redirects the pages make keep the prefix (`dashboard_url`), so a user moves through one
workspace's pages until they switch. /dashboard/... without a prefix is the personal
workspace, as it always was.

No link key is lost to the prefix: a multi-segment key may not begin with `w/`
(keys.alias_problem), and `/w` alone, or `/w/...` not followed by a slug and `dashboard`, is
still the redirect path's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.types import Scope

if TYPE_CHECKING:
    from shortener.models import Workspace

PREFIX = "/w/"
DASHBOARD = "/dashboard"
# Where the slug of a /w/{slug}/... request is left in the ASGI scope.
SCOPE_KEY = "shortener.workspace_slug"


def in_workspace(scope: Scope) -> Scope | None:
    """For a /w/{slug}/dashboard... request, the scope the dashboard's routes see (its path
    under the prefix, the slug kept); None for any other request (a few nanoseconds)."""
    path: str = scope["path"] if scope["type"] == "http" else ""
    if not path.startswith(PREFIX):
        return None
    slug, _, rest = path[len(PREFIX) :].partition("/")
    rest = "/" + rest
    if not slug or not (rest == DASHBOARD or rest.startswith(DASHBOARD + "/")):
        return None
    prefix = PREFIX + slug
    return {**scope, "root_path": scope.get("root_path", "") + prefix, SCOPE_KEY: slug}


def workspace_slug(request: Request) -> str | None:
    """The slug of the /w/{slug}/ prefix this page was asked under, if any."""
    slug: Any = request.scope.get(SCOPE_KEY)
    return slug if isinstance(slug, str) else None


def dashboard_url(request: Request, path: str) -> str:
    """`path`, as this request's workspace shows it: a /dashboard... path gets the /w/{slug}
    prefix the request came with; anything else (/login, a short URL) is left alone."""
    slug = workspace_slug(request)
    if slug is None or not (
        path == DASHBOARD or path.startswith((DASHBOARD + "/", DASHBOARD + "?"))
    ):
        return path
    return f"{PREFIX}{slug}{path}"


def home_of(workspace: Workspace) -> str:
    """A workspace's dashboard: /dashboard for the user's personal one, /w/{slug}/dashboard
    for any other."""
    if workspace.personal_user_id is not None:
        return DASHBOARD
    return f"{PREFIX}{workspace.slug}{DASHBOARD}"
