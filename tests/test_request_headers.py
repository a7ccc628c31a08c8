"""The headers a redirect reads are text as the client meant it: UTF-8 where it is UTF-8."""

from shortener.request_headers import read_headers


def test_utf8_header_values_are_read_as_utf8() -> None:
    agent = "Ridley/2.0 (Записная книжка; iOS 18)"
    found = read_headers(
        [
            (b"user-agent", agent.encode()),
            (b"referer", "https://bücher.example/seite".encode()),
        ]
    )
    assert found.user_agent == agent
    assert found.referrer == "https://bücher.example/seite"


def test_bytes_that_are_not_utf8_are_still_read_as_latin1() -> None:
    found = read_headers([(b"user-agent", b"Old\xe9Client/1.0")])
    assert found.user_agent == "OldéClient/1.0"
