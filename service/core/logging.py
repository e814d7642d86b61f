"""Logs as JSON lines: structlog configured once, rendering the standard library's records (uvicorn's, ours) too.

Every line has `timestamp`, `level`, `logger` and `event`, plus the `request_id` of the request it was logged
under (bound by the request middleware). Standard-library loggers' `extra={...}` fields become JSON fields.
The access log (one line per request) goes the short way: `AccessLog` encodes its lines with msgspec, many at a time,
a small part of the cost of a standard-library or structlog record per line. What goes in a line is chosen by the
caller: never a record's content, a token or a password.
"""

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec
import structlog

from service.core.batches import MAX_SECONDS, Batcher


def _drop_color_message(_logger: object, _method: str, event: dict) -> dict:
    """uvicorn passes a copy of some messages with terminal colour codes as an extra field: noise in JSON."""
    event.pop("color_message", None)
    return event


def configure_logging(level: int | str = logging.INFO) -> None:
    """Route every log line through one JSON renderer on stderr; uvicorn's access log is replaced by ours."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs each request, with its id
    global _access_log
    _access_log.flush()
    _access_log = AccessLog(enabled=logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.INFO))


class AccessLog:
    """One JSON line per answered request: the fields the caller gives, then `event`, `level` and `timestamp` (when
    the request was answered, ISO 8601 UTC) as in every other line. Lines gather in memory and are encoded and
    written together, once MAX_LINES have gathered or MAX_SECONDS (0.2 s) after the first of them, and at exit, as nginx's
    `access_log ... buffer= flush=` does: one write per many requests. A process killed outright (SIGKILL) loses at
    most its last 0.2 s of lines; a stop writes them all. Lines of the standard-library loggers are not held back,
    so one may come out before an access line of an earlier request."""

    MAX_LINES = 256

    def __init__(
        self, stream: TextIO | None = None, enabled: bool = True, max_lines: int = MAX_LINES, max_seconds: float = MAX_SECONDS
    ) -> None:
        """`stream`: by default, whatever sys.stderr is when lines are written."""
        self.stream, self.enabled = stream, enabled
        self._lines: Batcher[tuple[float, dict[str, Any]]] = Batcher(self._write, max_lines, max_seconds)

    def write(self, answered_at: float, fields: dict[str, Any]) -> None:
        """`answered_at`: epoch seconds; `fields`: JSON-ready values, which must not change afterwards."""
        if self.enabled:
            self._lines.add((answered_at, fields))

    def flush(self) -> None:
        self._lines.flush()

    def _write(self, entries: list[tuple[float, dict[str, Any]]]) -> None:
        lines = [{"logger": ACCESS_LOGGER, **fields, **_LINE_END, "timestamp": _iso(at)} for at, fields in entries]
        stream = self.stream or sys.stderr
        stream.write(_ENCODER.encode_lines(lines).decode())
        stream.flush()


ACCESS_LOGGER = "service.access"
_LINE_END = {"event": "request", "level": "info"}
_ENCODER = msgspec.json.Encoder()


def _iso(epoch_seconds: float) -> str:
    """structlog's ISO 8601 UTC form, as the other lines have it."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat().replace("+00:00", "Z")


_access_log = AccessLog(max_lines=1)  # until logging is configured (tests, tools): each line at once


def access_log() -> AccessLog:
    """The access log as `configure_logging` set it up (before that: every line to stderr, at once)."""
    return _access_log
