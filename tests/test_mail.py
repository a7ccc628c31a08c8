"""SMTP_URL: how it is read, which TLS it asks for, and sign-in at a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from shortener.config import ConfigError, load_settings
from shortener.mail import Mailer, parse_smtp_url
from tests.conftest import LIVE_TIMEOUT
from tests.mailbox import Mailbox, free_port


def test_the_url_gives_host_port_tls_and_credentials() -> None:
    plain = parse_smtp_url("smtp://mail.example.com")
    assert (plain.host, plain.port, plain.implicit_tls, plain.username) == (
        "mail.example.com",
        25,
        False,
        None,
    )
    tls = parse_smtp_url("smtps://me%40example.com:p%3Ass%40word@mail.example.com")
    assert (tls.port, tls.implicit_tls) == (465, True)
    assert (tls.username, tls.password) == ("me@example.com", "p:ss@word")
    assert parse_smtp_url("smtp://relay:2525").port == 2525


@pytest.mark.parametrize(
    ("url", "starttls"),
    [
        ("smtps://u:p@mail.example.com", False),  # TLS already, from the first byte
        ("smtp://u:p@mail.example.com:587", True),  # a password on a network: required
        ("smtp://mail.example.com:25", None),  # no password: when offered
        ("smtp://u:p@127.0.0.1:25", None),  # this machine: when offered
        ("smtp://u:p@localhost:25", None),
        ("smtp://u:p@[::1]:25", None),
    ],
)
def test_starttls_is_required_only_where_a_password_would_cross_a_network(
    url: str, starttls: bool | None
) -> None:
    assert parse_smtp_url(url).starttls is starttls


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.example.com", "smtp:// or smtps://"),
        ("mail.example.com:25", "smtp:// or smtps://"),
        ("smtp://:25", "needs a host"),
        ("smtp://mail.example.com:99999", "port"),
        ("smtp://mail.example.com:abc", "port"),
    ],
)
def test_a_bad_smtp_url_stops_the_start_with_a_reason(url: str, says: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(smtp_url=url)
    assert "SMTP_URL" in str(refused.value)
    assert says in str(refused.value)
    assert "p%3A" not in str(refused.value)


def test_an_empty_smtp_url_is_unset() -> None:
    assert load_settings(smtp_url="").smtp_url is None


class _Accounts:
    def __call__(
        self, _server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"bot", b"p@ss")
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def authenticating_mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_Accounts(),
        auth_required=True,
        auth_require_tls=False,  # on loopback; real servers want TLS first, as ours does off it
    )
    controller.start()
    box.url = f"smtp://127.0.0.1:{controller.port}"
    yield box
    controller.stop()


# aiosmtpd warns that AUTH without TLS is unsafe: it is, off loopback (see the test above).
NO_TLS_ON_LOOPBACK = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@NO_TLS_ON_LOOPBACK
async def test_the_credentials_of_the_url_sign_in(authenticating_mailbox: Mailbox) -> None:
    url = authenticating_mailbox.url.replace("smtp://", "smtp://bot:p%40ss@")
    mailer = Mailer(url, sender="Shortener <noreply@sho.rt>", timeout=LIVE_TIMEOUT)
    message = mailer.message(to="ada@example.com", subject="Hello", body="Hi Ada")
    assert await mailer.send(message, about="a test") is True
    (received,) = authenticating_mailbox.messages("ada@example.com")
    assert received["From"] == "Shortener <noreply@sho.rt>"
    assert received["Message-ID"].endswith("@sho.rt>")
    assert received.get_body(("plain",)).get_content().strip() == "Hi Ada"  # type: ignore[union-attr]


@NO_TLS_ON_LOOPBACK
async def test_a_refused_sign_in_is_logged_not_raised(
    authenticating_mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    url = authenticating_mailbox.url.replace("smtp://", "smtp://bot:wrong@")
    mailer = Mailer(url, sender="noreply@sho.rt", timeout=LIVE_TIMEOUT)
    message = mailer.message(to="ada@example.com", subject="Hello", body="Hi")
    with caplog.at_level("ERROR", logger="shortener.mail"):
        assert await mailer.send(message, about="a test") is False
    assert "mail not sent (a test)" in caplog.text
    assert "wrong" not in caplog.text
    assert authenticating_mailbox.messages() == []
