"""Logs as JSON lines: structlog configured once, rendering the standard library's records (uvicorn's, ours) too.

Every line has `timestamp`, `level`, `logger` and `event`, plus the `request_id` of the request it was logged
under (bound by the request middleware). Loggers are the standard library's, so `extra={...}` fields become
JSON fields. What goes in a line is chosen by the caller: never a record's content, a token or a password.
"""

import logging
import sys

import structlog


def configure_logging(level: int | str = logging.INFO) -> None:
    """Route every log line through one JSON renderer on stderr; uvicorn's access log is replaced by ours."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
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
