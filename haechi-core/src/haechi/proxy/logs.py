"""Proxy log lines: plain text, or one JSON object per line with ``logging.format: json``.

Log records carry only fixed messages and safe fields (correlation id, route id, status,
error class name); request and response bodies are never logged.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from haechi.audit.events import iso_timestamp
from haechi.jsoncodec import dumps_compact

__all__ = ["LOGGER_NAME", "JsonLogFormatter", "configure_logging", "log_fields"]

LOGGER_NAME = "haechi.proxy"
#: The ``extra`` key under which structured fields travel on a log record.
_FIELDS = "haechi_fields"


def log_fields(**fields: Any) -> dict[str, Any]:
    """``extra=`` for a log call: ``log.info("...", extra=log_fields(statusCode=500))``."""
    return {_FIELDS: fields}


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": iso_timestamp(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, _FIELDS, {}),
        }
        return dumps_compact(line).decode("utf-8")


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, _FIELDS, {})
        suffix = "".join(f" {key}={value}" for key, value in fields.items())
        return f"haechi proxy: {record.getMessage()}{suffix}"


def configure_logging(log_format: str, *, stream: Any = None) -> logging.Logger:
    """Attach one handler to the proxy logger (replacing an earlier one)."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLogFormatter() if log_format == "json" else _TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger
