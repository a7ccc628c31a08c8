"""The metric files of `shortener serve --workers N` (prometheus-client's multiprocess mode).

Imports nothing from prometheus-client: PROMETHEUS_MULTIPROC_DIR must be in the environment
before that is first imported (it chooses its kind of values then), which happens in each
worker as it loads the app.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from shortener.config import Settings

log = logging.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def metrics_directory(settings: Settings, workers: int) -> Iterator[str | None]:
    """While serving: the directory the workers share their metrics through, if one is needed.

    The operator's PROMETHEUS_MULTIPROC_DIR is used (cleared of the last run's files, which
    would otherwise be added to this run's); without one, several workers get a temporary
    directory that is removed when the server stops, and a single worker keeps its metrics
    in memory.
    """
    if settings.metrics_token is None:
        yield None
        return
    if settings.prometheus_multiproc_dir is not None:
        directory = Path(settings.prometheus_multiproc_dir)
        directory.mkdir(parents=True, exist_ok=True)
        stale = list(directory.glob("*.db"))
        for path in stale:
            path.unlink()
        if stale:
            log.info("metrics: removed %d files an earlier run left in %s", len(stale), directory)
        os.environ[ENV] = str(directory)  # it may have come from .env, which workers do not see
        yield str(directory)
        return
    if workers <= 1:
        yield None
        return
    made = tempfile.mkdtemp(prefix="shortener-metrics-")
    os.environ[ENV] = made
    try:
        yield made
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(made, ignore_errors=True)
