"""Logging of every `insights` process: plain text for a terminal, or one JSON object per line for a
log collector (INSIGHTS_LOG_FORMAT=json); either way each record carries the current request id, and
what clients sent cannot break a record into two (JSON escapes it; text lines escape control characters).

The id lives in a context variable set by the HTTP middleware (api/http/observability.py), so any log line
written while serving a request names it, whichever module writes it.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Dependencies that are noisy at INFO: only their warnings (or errors) are worth an operator's time.
QUIET_LOGGERS = {
    "faust": logging.WARNING,
    "mode": logging.WARNING,
    "aiokafka": logging.ERROR,
    "httpx": logging.WARNING,
}


class FaustNoise(logging.Filter):
    """Drops Faust's "Missing sensor state for rebalance" warnings: Faust gives each of an app's sensors
    a state at a rebalance's start, and takes the empty state of an app with none, as ours, for a
    missing one, so it warned at every start and rebalance about nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("faust.") and "Missing sensor state" in str(record.msg))


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (or None outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, RFC 3339), level, logger, message, request_id, and the
    exception's text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# Control characters (line breaks above all) and the Unicode line separators, written as escapes in
# text logs: a message quotes what clients send (paths, ids), and must not forge or split a line.
_UNPRINTABLE = {code: ascii(chr(code))[1:-1] for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]}


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        # Only the message is escaped: a traceback appended after it keeps its lines.
        return super().formatMessage(record).translate(_UNPRINTABLE)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{text} [request_id={request_id}]" if request_id else text


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Set up the root logger once, at start-up; an unknown format is a configuration error."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"INSIGHTS_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}.")
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.addFilter(FaustNoise())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet_level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet_level)
