"""The hot path: `GET`/`HEAD /{key}` (and `POST /{key}` for password links) as pure ASGI.

The app hands a request for one path segment that could be a key (and is not a reserved word)
to the Redirector before FastAPI's middleware stack and router see it: those cost more than
the redirect itself. The click is queued after the response has been sent.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from urllib.parse import parse_qs, unquote

from fastapi.templating import Jinja2Templates
from sqlalchemy import select, update
from sqlmodel import col
from starlette.types import Receive, Scope, Send

from shortener.auth.passwords import verify_password
from shortener.clicks.client_ip import client_ip
from shortener.clicks.enrich import is_crawler
from shortener.domains.hosts import Route
from shortener.errors import TooManyRequests
from shortener.keys import RESERVED, key_candidates, link_ident, looks_like_key
from shortener.middleware import failure_answer
from shortener.models import Link
from shortener.redirect.answers import (
    JSON,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    Answers,
    send_answer,
)
from shortener.redirect.headers import redirect_headers
from shortener.redirect.link import CachedLink
from shortener.redirect.targeting import forward, is_unfurler, match_rule, pick_variant
from shortener.request_headers import Headers, RequestHeaders, read_headers
from shortener.runtime import Runtime

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 4096


def redirect_key(scope: Scope) -> str | None:
    """The key when this request is for the redirect path; None sends it on to FastAPI.

    `/{key}`, a multi-segment key `/{a/b/c}` and, for links that forward paths,
    `/{key}/more/path`: the first segment decides (the Redirector finds the longest key).
    "" for a GET or HEAD of a path that can be no key and that no page serves (`/.env`,
    `/wp-login.php`): the redirect path answers it 404 and records it as a visit to an unknown
    link, as it does an unknown key. (Every route of the app starts with a reserved word.)
    """
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD", "POST"):
        return None
    path: str = scope["path"]
    end = path.find("/", 1)
    key = path[1:] if end < 0 else path[1:end]
    if key.lower() in RESERVED or path == "/":
        return None
    if looks_like_key(key):
        return key
    return "" if scope["method"] != "POST" else None


class Redirector:
    """Answers redirect requests straight from the ASGI server, ahead of FastAPI's stack."""

    # Set by the app's lifespan (open_runtime) before the server takes a request.
    runtime: Runtime

    def __init__(self, templates: Jinja2Templates) -> None:
        self.answers = Answers(templates)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        try:
            await self.redirect(scope, receive, send, key)
        except Exception as exc:
            # Outside the app's middleware no handler catches this: answer as InternalErrors
            # does, unless the response had already started.
            status, body, extra = failure_answer(exc, scope)
            with contextlib.suppress(Exception):
                await send_answer(send, status, body, JSON, extra=extra)

    async def is_domain_root(self, scope: Scope) -> bool:
        """`/` on a custom domain is the redirect path's (its root redirect, or 404); on the
        default domain it stays the service's home page, unless an admin gave the default
        domain a root redirect (PATCH /api/domains/0)."""
        if scope["type"] != "http" or scope["path"] != "/":
            return False
        hosts = self.runtime.hosts
        if hosts.due():
            await hosts.refresh()
        if not hosts.by_host and hosts.default.root_location is None:
            return False
        client = scope.get("client")
        route = hosts.route(scope["headers"], client[0] if client else None)
        return route is not None and (route.id is not None or route.root_location is not None)

    async def redirect(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        state = self.runtime
        answers = self.answers
        hosts = state.hosts
        if hosts.due():
            await hosts.refresh()
        client = scope.get("client")
        peer = client[0] if client else None
        route = hosts.route(scope["headers"], peer)
        if route is None:  # not one of our domains: nothing to record either
            await answers.problem(send, scope, 404, NOT_FOUND)
            return
        if not key:  # a custom domain's root, or a path that can be no key
            root = scope["path"] == "/"
            where = route.root_location if root else route.not_found_location
            await self._elsewhere(send, scope, peer, route, where)
            return
        loose = state.settings.short_url_mode == "loose"
        path: str = scope["path"]
        link: CachedLink | None
        if len(path) == len(key) + 1:  # `/{key}`: one look-up, as before multi-segment keys
            if loose:
                key = key.lower()
            ident = key if route.id is None else f"{route.id}:{key}"  # link_ident, inlined
            link = await state.link_cache.get(ident)
            extra_path = ""
        else:
            link, key, extra_path = await self._longest_match(path, key, route, loose=loose)
        if link is None:
            await self._elsewhere(send, scope, peer, route, route.not_found_location)
            return
        if not link.is_active:
            await answers.problem(send, scope, 410, "This short link is no longer active.")
            return
        if link.expires_at is not None and time.time() >= link.expires_at:
            await self._ended(send, scope, link, route, "This short link has expired.")
            return
        if link.has_password:
            if scope["method"] != "POST":
                await answers.password_form(send, scope, key, error=None, status=200)
                return
            # Guesses are counted per address and link; a right password gives its attempt back.
            guesser = f"{peer or 'unknown'}|{link_ident(route.id, key)}"
            try:
                await state.rate_limiter.hit("link_password", guesser)
            except TooManyRequests as exc:
                await answers.too_many(send, scope, exc)
                return
            password = await _read_password(receive)
            if not await self._password_ok(link, password):
                await answers.password_form(send, scope, key, error="Wrong password.", status=403)
                return
            await state.rate_limiter.refund("link_password", guesser)
        elif scope["method"] == "POST":
            await send_answer(send, 405, METHOD_NOT_ALLOWED, JSON)
            return
        # A HEAD is not a click (link checkers, unfurlers probing): it is answered like a GET
        # but neither recorded nor allowed to take one of max_clicks.
        counted = scope["method"] != "HEAD"
        if link.max_clicks is not None and not await self._use(
            link, scope["headers"], take=counted
        ):
            await self._ended(
                send, scope, link, route, "This short link has reached its click limit."
            )
            return
        headers: Headers = scope["headers"]
        variant: int | None = None
        if link.plain:
            response_headers = link.response_headers
        else:
            request = read_headers(headers)
            if link.og and is_unfurler(request.user_agent):
                await answers.preview(send, scope, og=link.og, location=link.location, key=key)
                if counted:
                    await state.click_recorder.record(link.id, headers, peer)
                return
            visitor_ip = client_ip(peer, request.forwarded_for, state.trusted_proxies)
            location, variant = self._choose(link, request, visitor_ip)
            # What the visitor adds is re-encoded by forward(): a Location is ASCII, always.
            query: bytes = scope["query_string"] if link.forward_query else b""
            extra = raw_extra_path(scope, key) if extra_path else b""
            location = forward(location, query=query, extra_path=extra)
            response_headers = redirect_headers(location, link.redirect_type)
        await send(
            {
                "type": "http.response.start",
                "status": link.redirect_type,
                "headers": response_headers,
            }
        )
        await send({"type": "http.response.body", "body": b""})
        if counted:
            await state.click_recorder.record(link.id, headers, peer, variant=variant)

    async def _longest_match(
        self, path: str, first: str, route: Route, *, loose: bool
    ) -> tuple[CachedLink | None, str, str]:
        """(link, key, the rest of the path) for a path with a '/' after its first segment
        `first`: the longest key it starts with that names a link, where a shorter prefix only
        counts for a link that forwards paths (`a/b` exact, else `a` + `/b` when `a` forwards).
        Each try is a cache look-up; an unknown prefix is a miss in the filter of known keys.
        While the filter knows no key with a '/', the first segment is the only candidate (a
        forward_path redirect costs what it did before multi-segment keys)."""
        cache = self.runtime.link_cache
        known = cache.keys.current
        if known is not None and not known.slashed:
            candidates: Iterable[tuple[str, int]] = ((first, len(first) + 1),)
        else:
            candidates = key_candidates(path)
        for key, end in candidates:
            if loose:
                key = key.lower()
            ident = link_ident(route.id, key)
            if cache.surely_unknown(ident):  # most longer candidates: no await, no look-up
                continue
            link = await cache.get(ident)
            if link is None:
                continue
            rest = path[end + 1 :]
            if not rest or link.forward_path:
                return link, key, rest
        return None, "", ""

    def _choose(
        self, link: CachedLink, request: RequestHeaders, client_ip: str | None
    ) -> tuple[str, int | None]:
        """The target for this visitor: the first matching rule, else their A/B variant."""
        if link.parsed_rules:
            rule = match_rule(
                link.parsed_rules,
                user_agent=request.user_agent,
                accept_language=request.accept_language,
                country=lambda: self.runtime.countries.country(client_ip),
            )
            if rule is not None:
                return rule.location, None
        if link.parsed_variants:
            # The same visitor (address and browser) lands on the same variant every time.
            seed = f"{link.key}|{client_ip}|{request.user_agent}"
            index = pick_variant(link.parsed_variants, seed)
            return link.parsed_variants[index].location, index
        return link.location, None

    async def _ended(
        self, send: Send, scope: Scope, link: CachedLink, route: Route, message: str
    ) -> None:
        """Expired or exhausted: the link's fallback URL, else its domain's, else 410."""
        location = link.fallback_location or route.expired_location
        if location is None:
            await self.answers.problem(send, scope, 410, message)
            return
        await _found(send, location)

    async def _elsewhere(
        self, send: Send, scope: Scope, peer: str | None, route: Route, location: str | None
    ) -> None:
        """No link here: where the domain sends such visitors, else 404. Either way a visit
        to an unknown link, recorded after the answer (the recorder only appends)."""
        if location is None:
            await self.answers.problem(send, scope, 404, NOT_FOUND)
        else:
            await _found(send, location)
        self.runtime.click_recorder.record_orphan(
            scope["headers"], peer, scope["path"], route.hostname
        )

    async def _use(self, link: CachedLink, headers: Headers, *, take: bool) -> bool:
        """Whether one of the link's max_clicks is left, taken atomically across requests and
        workers when `take`. A crawler (an unfurler showing the link in a chat, a search
        engine) is let through while one is left but takes none: it is not the visitor the
        limit counts."""
        user_agent = read_headers(headers).user_agent
        crawler = is_unfurler(user_agent) or is_crawler(user_agent)
        async with self.runtime.sessionmaker() as session, session.begin():
            left = col(Link.uses) < col(Link.max_clicks)
            if crawler or not take:
                found = await session.execute(
                    select(col(Link.id)).where(col(Link.id) == link.id, left)
                )
                return found.first() is not None
            taken = await session.execute(
                update(Link)
                .where(col(Link.id) == link.id, left)
                .values(uses=col(Link.uses) + 1)
                .returning(col(Link.uses))
            )
            return taken.first() is not None

    async def _password_ok(self, link: CachedLink, password: str | None) -> bool:
        if not password:
            return False
        async with self.runtime.sessionmaker() as session:
            password_hash = (
                await session.execute(
                    select(col(Link.password_hash)).where(col(Link.id) == link.id)
                )
            ).scalar_one_or_none()
        return await verify_password(password, password_hash)


async def _found(send: Send, location: str) -> None:
    headers = redirect_headers(location, 302)
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def raw_extra_path(scope: Scope, key: str) -> bytes:
    """The path after the key as the visitor sent it (percent escapes kept), for forward().

    From `raw_path` where the server gives it and its first segments are the key (compared
    without case: SHORT_URL_MODE=loose lower-cases the key); otherwise the
    decoded path, UTF-8 encoded (forward() escapes it either way).
    """
    raw: bytes | None = scope.get("raw_path")
    if raw:
        raw = raw.partition(b"?")[0]
        end = 0
        for _ in range(key.count("/") + 1):  # past the key's segments
            end = raw.find(b"/", end + 1)
            if end < 0:
                break
        if end > 0 and unquote(raw[1:end].decode("latin-1")).lower() == key.lower():
            return raw[end + 1 :]
    extra: str = scope["path"][len(key) + 2 :]
    return extra.encode("utf-8", "surrogateescape")


async def _read_password(receive: Receive) -> str | None:
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_FORM_BYTES:
            return None
    values = parse_qs(body.decode("utf-8", "replace"))
    passwords = values.get("password")
    return passwords[0] if passwords else None
