"""No address, password, token, API key, webhook secret or query string reaches a log line.

The app's own logging configuration at DEBUG, every kind of secret the service handles sent
through the real API (and a database error on the way, on PostgreSQL), then a grep.
"""

from __future__ import annotations

from tests.factories import eventually, running
from tests.observability.helpers import METRICS_TOKEN, captured_logs, scrape
from tests.observability.traffic import secret_traffic
from tests.webhooks.receiver import Receiver


async def test_no_secret_reaches_the_logs(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        log_level="debug",
        log_redirects=True,
        allow_private_webhooks=True,
        metrics_token=METRICS_TOKEN,
    )
    receiver = Receiver()
    hook_url = await receiver.start()
    try:
        with captured_logs(settings) as logs:
            async with running(settings) as (app, client):
                found = await secret_traffic(client, receiver, hook_url)
                await scrape(client)

                async def clicks_written() -> bool:  # the flusher's work is logged too
                    return bool(app.runtime.flusher.flushed >= 4)

                await eventually(clicks_written)
        text = logs.getvalue()
    finally:
        await receiver.stop()

    # The capture saw the traffic, DEBUG lines included...
    assert "DEBUG shortener.access: GET /metrics 200" in text
    assert "POST /api/auth/token 401" in text
    assert "GET /forwards 302" in text  # a redirect (LOG_REDIRECTS), without its query string
    for request_id in found.request_ids:
        assert f"request_id={request_id}" in text
    # ...and none of what must never be logged.
    assert found.found_in(text) == [], text
