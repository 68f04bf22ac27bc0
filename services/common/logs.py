"""Structured logging: JSON lines in production, readable text in development.

Every record carries the request id and the caller of the call it was logged in, and inside a
span (traces on, services/common/tracing.py) its trace_id and span_id.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from services.common.context import current_principal, current_request_id

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_SECRET_KEYS = ("password", "token", "secret", "authorization")


class ContextFilter(logging.Filter):
    """Attach the request id and caller to every record, and the trace inside a span."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add `request_id` and `user` attributes."""
        principal = current_principal()
        # A caller outside a call's context (the gateway) may name the id itself, via `extra`.
        record.request_id = current_request_id() or getattr(record, "request_id", None) or "-"
        record.user = principal.resource_name if principal else "-"
        # Looked up only once something imported OpenTelemetry (~35 ms the terminal client spares):
        # before that no span can be current.
        otel = sys.modules.get("opentelemetry.trace")
        span = otel.get_current_span().get_span_context() if otel is not None else None
        if span is not None and span.is_valid:
            record.trace_id = format(span.trace_id, "032x")
            record.span_id = format(span.span_id, "016x")
        return True


def _redact(key: str, value: Any) -> Any:
    if any(secret in key.lower() for secret in _SECRET_KEYS):
        return "[redacted]"
    return value


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record with its extra fields."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # `serve --processes N` writes N processes' lines to one log
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = _redact(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Format a record as a readable line with its extra fields appended."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s %(user)s] %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        """Render the record, then its extra fields as key=value."""
        line = super().format(record)
        extras = {
            key: _redact(key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRS
            and key not in ("request_id", "user")
            and not key.startswith("_")
        }
        if extras:
            line += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        return line


def configure_logging(
    level: str = "INFO", fmt: str = "text", stream: IO[str] | None = None
) -> None:
    """Send every log record to `stream` (stdout by default) in the chosen format."""
    # Resolved at call time, not as a default value, so a replaced sys.stdout is honoured.
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
