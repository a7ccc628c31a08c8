"""Outgoing mail over SMTP (SMTP_URL), sent in the background: never in a request's way.

aiosmtplib speaks SMTP on the event loop itself, so a slow or unreachable mail server costs a
waiting coroutine, not a thread of the pool that hashes passwords. A mail is handed over with
`send_soon` and the caller goes on at once: the request that asked for it answers the same
whether the mail went out or not (a failure is logged), which also keeps answer times from
telling whether an address has an account.

TLS: `smtps://` speaks TLS from the first byte (port 465 by default). `smtp://` (port 25 by
default, 587 for submission) upgrades with STARTTLS whenever the server offers it; when the
URL carries credentials and the host is not this machine, STARTTLS is required, so a password
never crosses a network in clear. Certificates are always verified.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

log = logging.getLogger(__name__)

# How long closing the app waits for mails still on their way before giving up on them.
CLOSE_WAIT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None

    @property
    def starttls(self) -> bool | None:
        """True: required; None: when the server offers it (aiosmtplib's reading)."""
        if self.implicit_tls:
            return False
        return True if self.username is not None and not _is_local(self.host) else None


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://user:pw@host:port` or `smtps://...`; ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("SMTP_URL must start with smtp:// or smtps://, e.g. smtp://mail:587")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("SMTP_URL has a port that is not a number from 0 to 65535") from None
    if not parts.hostname:
        raise ValueError("SMTP_URL needs a host, e.g. smtp://user:pw@mail.example.com:587")
    implicit = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if implicit else 25),
        implicit_tls=implicit,
        # Percent-decoded: a password with @ or : in it is written %40 or %3A in the URL.
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class Mailer:
    """Sends plain-text mails through one SMTP server; unconfigured, it sends nothing."""

    def __init__(self, smtp_url: str | None, *, sender: str, timeout: float) -> None:
        self.server = parse_smtp_url(smtp_url) if smtp_url else None
        self.sender = sender
        self.timeout = timeout
        self._pending: set[asyncio.Task[bool]] = set()

    @property
    def configured(self) -> bool:
        return self.server is not None

    def message(self, *, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        domain = self.sender.rpartition("@")[2].strip("> ") or None
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(body)
        return message

    def send_soon(self, message: EmailMessage, *, about: str) -> None:
        """Send in the background; `about` names the mail in logs (never an address)."""
        task = asyncio.create_task(self.send(message, about=about), name=f"mail: {about}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def send(self, message: EmailMessage, *, about: str) -> bool:
        """Send now; True when the server accepted it. Failures are logged, never raised."""
        server = self.server
        if server is None:
            log.warning("no mail sent (%s): SMTP_URL is not set", about)
            return False
        try:
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.implicit_tls,
                start_tls=server.starttls,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.error("mail not sent (%s) through %s:%s: %s", about, server.host, server.port, exc)
            return False
        except Exception:  # a bug here must not surface as an unretrieved task exception
            log.exception("mail not sent (%s)", about)
            return False
        log.info("mail sent (%s)", about)
        return True

    async def aclose(self) -> None:
        """Let the mails on their way finish (for a while), then give up on the rest."""
        if not self._pending:
            return
        _, late = await asyncio.wait(set(self._pending), timeout=CLOSE_WAIT_SECONDS)
        for task in late:
            task.cancel()
        if late:
            log.error("%d mail(s) still unsent at shutdown were dropped", len(late))
