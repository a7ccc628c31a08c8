"""Log capture through the app's own logging configuration, and reading /metrics."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shortener.config import Settings
from shortener.observability.logs import logging_config

METRICS_TOKEN = "metrics-token-for-tests-0123456789"
SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@contextlib.contextmanager
def captured_logs(settings: Settings) -> Iterator[io.StringIO]:
    """The app's logging configuration (LOG_FORMAT, LOG_LEVEL, the loggers it quiets), writing
    to a buffer instead of stderr; what was configured before comes back afterwards."""
    config = logging_config(settings, stream=io.StringIO())
    names = ["", *config["loggers"], "shortener.access"]
    saved = {
        name: (lg.level, lg.handlers[:], lg.propagate, lg.disabled)
        for name in names
        for lg in [logging.getLogger(name or None)]
    }
    logging.config.dictConfig(config)
    try:
        yield config["handlers"]["default"]["stream"]
    finally:
        for name, (level, handlers, propagate, disabled) in saved.items():
            lg = logging.getLogger(name or None)
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate = propagate
            lg.disabled = disabled


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line as JSON (fails on a line that is not)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class Samples(dict[tuple[str, frozenset[tuple[str, str]]], float]):
    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include `labels` (0 if none)."""
        wanted = set(labels.items())
        return sum(v for (n, lbl), v in self.items() if n == name and wanted <= lbl)


def parse(text: str) -> Samples:
    samples = Samples()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            samples[key] = samples.get(key, 0.0) + sample.value
    return samples


async def scrape(client: httpx.AsyncClient, url: str = "/metrics") -> Samples:
    response = await client.get(url, headers=SCRAPE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)
