"""Logging: one configuration for the CLI, uvicorn and every worker; text or JSON lines.

`logging_config(settings)` is handed to uvicorn as its log_config, so spawned workers apply it
too. Request lines come from the "shortener.access" logger (see access.py) and carry method,
path (never the query string), status, duration and request id as fields of their own.

Some loggers are held above DEBUG whatever LOG_LEVEL says, because their debug output would
print what must never be logged: SQLAlchemy's echoes result rows (stored webhook secrets among
them), aiosqlite's prints statement parameters, httpx's prints webhook URLs (which often hold
a secret), and uvicorn's access log prints client addresses (it is off altogether: the request
log replaces it).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

from shortener.config import Settings
from shortener.observability.request_id import current_request_id

ACCESS_LOGGER = "shortener.access"

# Attributes every LogRecord has; anything else on a record came in through `extra`.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "color_message", "taskName"}
)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request it was written for, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = current_request_id.get()
            record.request_id = request_id.decode("ascii") if request_id else None
        return True


class TextFormatter(logging.Formatter):
    """`2026-01-02 03:04:05,678 INFO shortener.access: GET /api/links 200 3.1ms id=...`"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id:
            head, newline, rest = line.partition("\n")  # after the message, before a traceback
            line = f"{head} request_id={request_id}{newline}{rest}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def _utc(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record comes, not to the one there when logging
    was configured: a test runner (or anything else) that swaps stderr and closes its stand-in
    then never meets "I/O operation on closed file" in a record written later."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass  # StreamHandler.__init__ and setStream set it: the property always answers

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
            try:
                sys.stderr.write(line)
                sys.stderr.flush()
            except (OSError, ValueError):
                # The stderr in place was closed under a thread still logging (a test
                # runner's stand-in, torn down with its test): the process's own stderr.
                if sys.__stderr__ is not None:
                    sys.__stderr__.write(line)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def logging_config(settings: Settings, stream: Any = None) -> dict[str, Any]:
    """A logging.config.dictConfig for these settings (uvicorn's log_config takes it as is);
    records go to sys.stderr as it is at each record, or to `stream` when given."""
    level = settings.log_level.upper()
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    quiet = {"level": "WARNING", "handlers": [], "propagate": True}
    handler: dict[str, Any] = (
        {"()": StderrHandler}
        if stream is None
        else {"class": "logging.StreamHandler", "stream": stream}
    )
    return {
        "version": 1,
        # Module loggers exist before this runs (they are made at import): keep them working.
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": {"()": formatter}},
        "handlers": {"default": {**handler, "formatter": "default", "filters": ["request_id"]}},
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            # uvicorn's own configuration gives these handlers of their own: go through ours.
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            "sqlalchemy": quiet,
            "aiosqlite": quiet,
            # httpx logs every request's full URL: webhook URLs often carry their secret.
            "httpx": quiet,
            "httpcore": quiet,
            "alembic.runtime.plugins": quiet,
        },
    }


def configure_if_unconfigured(settings: Settings) -> bool:
    """Under `uvicorn shortener.main:app` or gunicorn nobody configures the root logger (they
    configure their own loggers only), so the request log and every warning went nowhere.
    Configure it from the settings then; a configured one (`shortener serve`, an operator's
    --log-config) is left alone. Whether it configured."""
    if logging.getLogger().handlers:
        return False
    configure_logging(settings)
    return True


def configure_logging(settings: Settings) -> None:
    import logging.config

    logging.config.dictConfig(logging_config(settings))
