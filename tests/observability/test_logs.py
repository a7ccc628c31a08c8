"""Request log lines: text and JSON, redirects only with LOG_REDIRECTS, ids on every line."""

from __future__ import annotations

import re
from typing import Any

from tests.factories import make_link, make_user, running
from tests.observability.helpers import captured_logs, json_lines


async def _boom() -> None:
    raise RuntimeError("a bug")


async def test_text_lines_and_no_redirect_lines_by_default(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    assert settings.log_format == "text" and settings.log_redirects is False
    with captured_logs(settings) as logs:
        async with running(settings) as (app, client):
            app.add_api_route("/api/boom", _boom)  # a bug, for the line written meanwhile
            headers = await make_user(client)
            await make_link(client, headers, alias="quiet")
            listed = await client.get("/api/links", params={"q": "findme"}, headers=headers)
            redirected = await client.get("/quiet")
            boom = await client.get("/api/boom")
            forged = await client.get("/api/x%0A2026-01-01 INFO shortener.access: forged")
    text = logs.getvalue()

    line = "INFO shortener.access: GET /api/links 200 "
    match = re.search(re.escape(line) + r"[\d.]+ms request_id=(\S+)$", text, re.M)
    assert match, text
    assert match.group(1) == listed.headers["x-request-id"]
    assert "findme" not in text  # the query string is never logged
    assert redirected.status_code == 302
    assert "GET /quiet" not in text  # redirects are not logged by default
    assert redirected.headers["x-request-id"] not in text
    # A line the app writes while answering carries that request's id, then its traceback.
    boom_id = boom.headers["x-request-id"]
    assert boom.status_code == 500
    assert re.search(
        rf"ERROR shortener.middleware: unhandled error on GET /api/boom request_id={boom_id}\n"
        r"Traceback",
        text,
    ), text
    assert "GET /api/boom 500 " in text
    # A decoded newline in the path cannot forge a line: the path is logged as it was sent.
    assert forged.status_code == 404
    assert "GET /api/x%0A2026-01-01%20INFO%20shortener.access:%20forged 404" in text
    assert not re.search(r"^2026-01-01 INFO shortener.access: forged", text, re.M)


async def test_json_lines_with_redirects(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(log_format="json", log_redirects=True)
    with captured_logs(settings) as logs:
        async with running(settings) as (app, client):
            app.add_api_route("/api/boom", _boom)  # a bug, for the line written meanwhile
            headers = await make_user(client)
            await make_link(client, headers, alias="loud")
            redirected = await client.get("/loud?utm=x", headers={"X-Request-ID": "from-proxy-1"})
            missing = await client.get("/nothing-here")
            boom = await client.get("/api/boom")
    entries = json_lines(logs.getvalue())  # every line is a JSON object
    access = [e for e in entries if e["logger"] == "shortener.access"]
    for entry in access:
        assert isinstance(entry["time"], str) and entry["time"].endswith("Z")
        assert isinstance(entry["status"], int)
        assert isinstance(entry["duration_ms"], float | int)
        assert entry["message"].startswith(f"{entry['method']} {entry['path']} {entry['status']} ")

    def line(request_id: str) -> dict[str, Any]:
        (found,) = [e for e in access if e["request_id"] == request_id]
        return found

    assert redirected.status_code == 302 and redirected.headers["x-request-id"] == "from-proxy-1"
    entry = line("from-proxy-1")
    assert (entry["level"], entry["method"], entry["path"], entry["status"]) == (
        "INFO",
        "GET",
        "/loud",
        302,
    )
    assert line(missing.headers["x-request-id"])["status"] == 404
    assert line(boom.headers["x-request-id"])["status"] == 500
    (error,) = [e for e in entries if e["logger"] == "shortener.middleware"]
    assert error["request_id"] == boom.headers["x-request-id"]
    assert error["level"] == "ERROR" and "RuntimeError: a bug" in error["exception"]
