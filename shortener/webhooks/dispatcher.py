"""The webhook dispatcher: turns events into delivery rows, and sends the rows that are due.

Deliveries live in the database (an outbox), so they survive restarts and several workers can
share them: a worker claims due rows by pushing their next_attempt_at forward by a lease (with
FOR UPDATE SKIP LOCKED on PostgreSQL), sends them, and records the result. A worker that dies
mid-send leaves rows whose lease runs out, and another worker picks them up. Requests never wait
for a delivery: they only add rows (after their commit) and wake the dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
import ssl
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shortener.clicks.events import ClickRecord
from shortener.domains.hostnames import short_url
from shortener.models import Domain, Link, Webhook, WebhookDelivery, utcnow
from shortener.webhooks.targets import TargetRefused, pin_target

log = logging.getLogger(__name__)

CLAIM_BATCH = 20
MAX_RETRY_DELAY = 3600.0
USER_AGENT = "shortener-webhooks/1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Shortener-Signature value: HMAC-SHA256 of "<t>.<body>" under the secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event_body(event: str, data: dict[str, Any]) -> str:
    return orjson.dumps(
        {"id": uuid.uuid4().hex, "event": event, "created_at": utcnow().isoformat(), "data": data}
    ).decode()


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    attempts: int
    event: str
    payload: str
    url: str
    secret: str


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for the process, with the CA bundle httpx uses by default.

    Loading the bundle costs ~50 ms of CPU, which every new client paid again (each app
    start, each test); a context is safe to share between clients."""
    return ssl.create_default_context(cafile=certifi.where())


class WebhookDispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        base_url: str,
        allow_private: bool,
        timeout: float,
        max_attempts: int,
        retry_base: float,
        poll_interval: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._base_url = base_url
        self._default_host = urlsplit(base_url).hostname or ""
        self._allow_private = allow_private
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._poll_interval = poll_interval
        # Long enough for one attempt of a whole batch; a dead worker's rows wait this long.
        self._lease = timedelta(seconds=timeout * 2 + 30)
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # No proxies from the environment (they would defeat the address pinning), and a
        # redirect is the receiver's answer, not an instruction to send the event elsewhere.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            verify=_tls_context(),
        )

    def wake(self) -> None:
        self._wake.set()

    # ---- events in ------------------------------------------------------------------

    async def emit(self, workspace_id: int, event: str, data: dict[str, Any]) -> None:
        """Queue `event` for every endpoint of the workspace that wants it (after a commit)."""
        try:
            async with self._sessionmaker() as session, session.begin():
                hooks = await session.execute(
                    select(col(Webhook.id), col(Webhook.events)).where(
                        col(Webhook.workspace_id) == workspace_id
                    )
                )
                wanted = [h or 0 for h, events in hooks if event in events.split(",")]
                if not wanted:
                    return
                body, now = event_body(event, data), utcnow()
                session.add_all(
                    WebhookDelivery(webhook_id=h, event=event, payload=body, next_attempt_at=now)
                    for h in wanted
                )
            self.wake()
        except Exception:
            # The change is committed already: losing its event must not fail the request.
            log.exception("could not queue webhook event %s for workspace %s", event, workspace_id)

    async def clicks_written(self, clicks: Sequence[ClickRecord]) -> None:
        """After a committed click batch: one link.clicked per link, with the batch's count."""
        counts = Counter(c.link_id for c in clicks)
        if not counts:
            return
        try:
            async with self._sessionmaker() as session, session.begin():
                rows = await session.execute(
                    select(
                        col(Link.id),
                        col(Link.key),
                        col(Link.url),
                        col(Link.clicks),
                        col(Link.bot_clicks),
                        col(Webhook.id),
                        col(Webhook.events),
                        col(Domain.hostname),
                    )
                    .join(Webhook, col(Webhook.workspace_id) == col(Link.workspace_id))
                    .outerjoin(Domain, col(Domain.id) == col(Link.domain_id))
                    .where(col(Link.id).in_(list(counts)))
                )
                now, added = utcnow(), 0
                for link_id, key, url, total, bots, hook_id, events, hostname in rows:
                    if "link.clicked" not in events.split(",") or link_id is None:
                        continue
                    data = {
                        "key": key,
                        "domain": hostname or self._default_host,
                        "short_url": short_url(self._base_url, hostname, key),
                        "url": url,
                        # The batch's redirects (bots' too: they are told apart only
                        # when written); the totals as the link shows them.
                        "clicks": counts[link_id],
                        "total_clicks": total,
                        "bot_clicks": bots,
                    }
                    session.add(
                        WebhookDelivery(
                            webhook_id=hook_id or 0,
                            event="link.clicked",
                            payload=event_body("link.clicked", data),
                            next_attempt_at=now,
                        )
                    )
                    added += 1
            if added:
                self.wake()
        except Exception:
            log.exception("could not queue link.clicked events")

    # ---- deliveries out -------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Claim the deliveries that are due, send them, record the outcomes; how many."""
        claimed = await self._claim()
        if claimed:
            await asyncio.gather(*(self._attempt(d) for d in claimed))
        return len(claimed)

    async def _claim(self) -> list[_Claimed]:
        now = utcnow()
        due = (
            select(col(WebhookDelivery.id))
            .where(col(WebhookDelivery.status) == "pending")
            .where(col(WebhookDelivery.next_attempt_at) <= now)
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(CLAIM_BATCH)
            # PostgreSQL: workers skip each other's rows; SQLite has one writer and no FOR.
            .with_for_update(skip_locked=True)
        )
        async with self._sessionmaker() as session, session.begin():
            ids = list(
                (
                    await session.execute(
                        update(WebhookDelivery)
                        .where(col(WebhookDelivery.id).in_(due.scalar_subquery()))
                        # Repeated: a row another worker claimed meanwhile is not taken twice.
                        .where(col(WebhookDelivery.status) == "pending")
                        .where(col(WebhookDelivery.next_attempt_at) <= now)
                        .values(next_attempt_at=now + self._lease)
                        .returning(col(WebhookDelivery.id))
                        .execution_options(synchronize_session=False)
                    )
                ).scalars()
            )
            if not ids:
                return []
            rows = await session.execute(
                select(
                    col(WebhookDelivery.id),
                    col(WebhookDelivery.attempts),
                    col(WebhookDelivery.event),
                    col(WebhookDelivery.payload),
                    col(Webhook.url),
                    col(Webhook.secret),
                )
                .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
                .where(col(WebhookDelivery.id).in_(ids))
            )
            return [
                _Claimed(i or 0, attempts, event, payload, url, secret)
                for i, attempts, event, payload, url, secret in rows
            ]

    async def _attempt(self, delivery: _Claimed) -> None:
        status_code: int | None = None
        error: str | None = None
        try:
            status_code = await self._send(delivery)
            if not 200 <= status_code < 300:
                error = f"the receiver answered {status_code}"
        except TargetRefused as exc:
            error = str(exc)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # a bug here must not stop the other deliveries
            log.exception("webhook delivery %s failed", delivery.id)
            error = type(exc).__name__
        await self._record(delivery, status_code, error)

    async def _send(self, delivery: _Claimed) -> int:
        target = await pin_target(delivery.url, allow_private=self._allow_private)
        body = delivery.payload.encode()
        headers = {
            **target.headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Shortener-Event": delivery.event,
            "X-Shortener-Delivery": str(delivery.id),
            "X-Shortener-Signature": sign(delivery.secret, int(time.time()), body),
        }
        request = self._client.build_request(
            "POST", target.url, content=body, headers=headers, extensions=target.extensions
        )
        # Only the status matters: the receiver's body is never read (it could be huge).
        response = await self._client.send(request, stream=True)
        await response.aclose()
        return response.status_code

    async def _record(self, delivery: _Claimed, status_code: int | None, error: str | None) -> None:
        now, attempts = utcnow(), delivery.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "status_code": status_code,
            "last_error": error[:300] if error else None,
        }
        if error is None:
            values.update(status="delivered", delivered_at=now, next_attempt_at=None)
        elif attempts >= self._max_attempts:
            values.update(status="failed", next_attempt_at=None)
        else:
            delay = min(MAX_RETRY_DELAY, self._retry_base * 2 ** (attempts - 1))
            values.update(next_attempt_at=now + timedelta(seconds=delay))
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    # ---- lifetime -------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="webhook-dispatcher")

    async def run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if await self.deliver_due() >= CLAIM_BATCH:
                    continue
            except Exception as exc:
                log.error("webhook dispatch failed (%s); retrying", exc)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()

    async def aclose(self) -> None:
        """Let the current round finish rather than cancel it: a task cancelled inside a
        database call can leave its connection checked out, idle in a transaction."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(self._timeout + 5):
                    await asyncio.shield(self._task)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            except Exception as exc:
                log.error("webhook dispatcher ended with %r", exc)
        await self._client.aclose()
