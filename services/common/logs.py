"""Structured logging: JSON lines in production, readable text in development.

Every record carries the request id and the caller of the call it was logged in, and inside a
span (traces on, services/common/tracing.py) its trace_id and span_id. INFO lines logged inside
an event loop are written together within FLUSH_SECONDS (LoopBufferedHandler): a busy server
pays one write per batch rather than one write and flush per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import os
import sys
import threading
import time
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import IO, Any

from services.common.context import current_principal, current_request_id

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_SECRET_KEYS = ("password", "token", "secret", "authorization")
# An extra with one of these names replaced the head's value in place when the line was one
# dict: such a (rare) record still takes that path, so its line is as it always was.
_HEAD_KEYS = frozenset({"time", "level", "logger", "pid", "exception"})
_PIPE_BUF = 4096  # writes up to this size reach a shared pipe whole (`serve --processes N`)
_MAX_QUEUED = 256  # lines queued before a write, whatever the timer
# How long a running loop's INFO lines may wait to be written together.
FLUSH_SECONDS = 0.05
_MILLIS = tuple(f".{millis:03d}+00:00" for millis in range(1000))  # the time's end, made once
_MAX_PLANS = 1024  # record shapes kept by a JsonFormatter (code has a few dozen)
# A record's extra fields, in order: the name, the line's text up to the value, a secret name.
_Plan = tuple[tuple[str, str, bool], ...]


_pid = os.getpid()
# A program that installs its own record factory (to add fields) gets every line through it.
_RECORD_FACTORY = logging.getLogRecordFactory()


def _forked() -> None:
    """Renew the process id kept for log lines, in a forked child."""
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


class ContextFilter(logging.Filter):
    """Attach the request id and caller to every record, and the trace inside a span."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add `request_id` and `user` attributes."""
        add_context(record.__dict__)
        if record.process is None:  # configure_logging spares each record a getpid() syscall
            record.process = _pid
        return True


def add_context(fields: dict[str, Any]) -> None:
    """Set a line's request id and caller, and inside a span its trace and span ids."""
    principal = current_principal()
    # A caller outside a call's context (the gateway) may name the id itself, via `extra`.
    fields["request_id"] = current_request_id() or fields.get("request_id") or "-"
    fields["user"] = principal.resource_name if principal else "-"
    # Looked up only once something imported OpenTelemetry (~35 ms the terminal client spares):
    # before that no span can be current.
    otel = sys.modules.get("opentelemetry.trace")
    span = otel.get_current_span().get_span_context() if otel is not None else None
    if span is not None and span.is_valid:
        fields["trace_id"] = format(span.trace_id, "032x")
        fields["span_id"] = format(span.span_id, "016x")


def log_without_caller(logger: logging.Logger, level: int, msg: str, extra: dict[str, Any]) -> None:
    """Log `msg` from a hot path: the record skips Logger._log's stack walk for its caller.

    Where the studio's own JSON handler alone takes the logger's lines (configure_logging, no
    other handler or filter on the way), the line is written without a LogRecord at all: the
    same text, for 70-80% of the record's cost (bench/log_line.py: 8.4 against 10.7 us a line).
    """
    if not logger.isEnabledFor(level):
        return
    if not _STANDARD_ATTRS.isdisjoint(extra):  # as Logger.makeRecord refuses
        raise KeyError(f"Attempt to overwrite a LogRecord attribute: {sorted(extra)}")
    handler = _sole_json_handler(logger, level)
    if handler is not None:
        try:
            line = handler.formatter.line(level, logger.name, msg, extra)  # type: ignore[union-attr]
        except Exception:  # the record's way below reports it as logging does
            line = None
        if line is not None:
            handler.queue_line(line, level)
            return
    # logging's own values for a caller it did not look up; no line shows them.
    factory = logging.getLogRecordFactory()
    record = factory(logger.name, level, "(unknown file)", 0, msg, (), None, "(unknown function)")
    record.__dict__.update(extra)
    logger.handle(record)


def _sole_json_handler(logger: logging.Logger, level: int) -> LoopBufferedHandler | None:
    """Return the studio's JSON handler if it is the only one the logger's records reach."""
    if logger.filters or logging.getLogRecordFactory() is not _RECORD_FACTORY:
        return None
    found: LoopBufferedHandler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if found is not None or type(handler) is not LoopBufferedHandler:
                return None
            found = handler
        current = current.parent if current.propagate else None
    if (
        found is None
        or level < found.level
        or type(found.formatter) is not JsonFormatter
        or len(found.filters) != 1
        or type(found.filters[0]) is not ContextFilter
    ):
        return None
    return found


def _redact(key: str, value: Any) -> Any:
    return "[redacted]" if _is_secret(key) else value


@functools.lru_cache(maxsize=1024)  # names come from code: a few dozen, asked on every line
def _is_secret(key: str) -> bool:
    """Tell whether a field's name says that it holds a secret."""
    return any(secret in key.lower() for secret in _SECRET_KEYS)


def _default(value: Any) -> str:
    """Return str(value) for JSON, or a placeholder where even that fails."""
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _json(value: Any) -> str:
    """Encode a value as json.dumps(value, default=str) does, without its encoder for scalars."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    try:
        return json.dumps(value, default=_default)
    except (TypeError, ValueError, RecursionError):  # odd keys, a cycle: still one valid line
        return encode_basestring_ascii(_default(value))


def _add_fields(parts: list[str], plan: _Plan, values: dict[str, Any]) -> None:
    """Append each planned field's start and encoded value (a secret's value redacted)."""
    for key, start, secret in plan:
        value = "[redacted]" if secret else values[key]
        # Most values are strings: encoded here, without the call to _json.
        parts += (start, encode_basestring_ascii(value) if type(value) is str else _json(value))


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line (the text json.dumps gives its dict)."""

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (0, "")  # one tuple: a thread reads a matching pair
        self._heads: dict[tuple[str, str, int | None], str] = {}
        # The records of one call site share their attributes' names, so which of them are
        # fields, and how each starts, is worked out once per such shape (None: see _HEAD_KEYS).
        self._plans: dict[tuple[str, ...], _Plan | None] = {}

    def format(self, record: logging.LogRecord) -> str:
        """Render the record with its extra fields."""
        attributes = record.__dict__
        shape = tuple(attributes)
        try:
            plan = self._plans[shape]
        except KeyError:
            plan = self._plan(shape)
        if plan is None:
            return self._format_entry(record)
        head = self._heads.get((record.levelname, record.name, record.process))
        if head is None:
            head = self._head(record)
        parts = ['{"time": "', self._time(record.created), head, _json(record.getMessage())]
        _add_fields(parts, plan, attributes)
        if record.exc_info:
            parts += (', "exception": ', _json(self.formatException(record.exc_info)))
        parts.append("}")
        return "".join(parts)

    def line(self, level: int, name: str, msg: str, extra: dict[str, Any]) -> str | None:
        """Return the line `format` gives a record of these, with ContextFilter's fields.

        None where that record would take the dict path (an extra named like a head field).
        """
        fields = dict(extra)  # the record's __dict__ order: the extras, then the filter's
        add_context(fields)
        shape = ("_line", *fields)
        try:
            plan = self._plans[shape]
        except KeyError:
            plan = self._plan(shape)
        if plan is None:
            return None
        levelname = logging.getLevelName(level)
        head = self._heads.get((levelname, name, _pid))
        if head is None:
            head = self._make_head(levelname, name, _pid)
        parts = ['{"time": "', self._time(time.time()), head, _json(str(msg))]
        _add_fields(parts, plan, fields)
        parts.append("}")
        return "".join(parts)

    def _plan(self, shape: tuple[str, ...]) -> _Plan | None:
        """Return (and keep, up to a bound) each extra field's name, start and secrecy."""
        extras = [key for key in shape if key not in _STANDARD_ATTRS and not key.startswith("_")]
        plan = None
        if _HEAD_KEYS.isdisjoint(extras):
            plan = tuple((key, f", {_json(key)}: ", _is_secret(key)) for key in extras)
        if len(self._plans) < _MAX_PLANS:
            self._plans[shape] = plan
        return plan

    def _head(self, record: logging.LogRecord) -> str:
        """Return (and keep) the fields between the time and the message's value."""
        return self._make_head(record.levelname, record.name, record.process)

    def _make_head(self, levelname: str, name: str, process: int | None) -> str:
        head = self._heads[(levelname, name, process)] = (
            f'", "level": {_json(levelname.lower())}, "logger": {_json(name)}'
            f', "pid": {_json(process)}, "message": '
        )
        return head

    def _time(self, created: float) -> str:
        """Return datetime's ISO time in milliseconds, its date and seconds made once a second."""
        second, stamp = self._second
        # Exact (both are near each other), and rounded to the microsecond half-even first,
        # as datetime.fromtimestamp rounds.
        micros = round((created - second) * 1e6)
        if not 0 <= micros < 1_000_000:
            fraction, whole = math.modf(created)
            micros = round(fraction * 1e6)
            second = int(whole) + micros // 1_000_000
            micros %= 1_000_000
            stamp = datetime.fromtimestamp(second, UTC).isoformat()[:19]
            self._second = (second, stamp)
        return stamp + _MILLIS[micros // 1000]

    def _format_entry(self, record: logging.LogRecord) -> str:
        """Render the record through one dict, where an extra shares a name with the head."""
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
        fields = ", ".join(f"{_json(key)}: {_json(value)}" for key, value in entry.items())
        return "{" + fields + "}"


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


class LoopBufferedHandler(logging.StreamHandler[IO[str]]):
    """Write the lines a running event loop logs together, a few times a second; others at once.

    Inside a running loop a line below WARNING waits for a timer that the loop runs within
    FLUSH_SECONDS (or for the queue to reach _MAX_QUEUED lines); WARNING and above, lines logged
    outside a loop, close() and logging.shutdown() (atexit) write at once, with what was queued
    before them. So a SIGKILL or an os._exit loses at most FLUSH_SECONDS of INFO lines; those a
    loop leaves queued when it is closed first are written with the next line, or at
    close/shutdown. Writing once an iteration cost a busy server a write and a wake-up per call or
    two: a fifth of a hello-world call's CPU (bench/api, with and without the access line).
    """

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self._queued: list[str] = []
        self._scheduled: asyncio.AbstractEventLoop | None = None  # the loop due to write them
        self._thread = 0  # the thread that runs it

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record's line; write the queue now unless a running loop will."""
        try:
            self._queue(self.format(record), record.levelno)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def queue_line(self, line: str, level: int) -> None:
        """Queue a line formatted already, as `emit` queues a record's (under the lock)."""
        self.acquire()
        try:
            self._queue(line, level)
        finally:
            self.release()

    def _queue(self, line: str, level: int) -> None:
        self._queued.append(line + self.terminator)
        if level < logging.WARNING and len(self._queued) < _MAX_QUEUED:
            # A thread runs one loop at a time: a running loop that this thread asked to
            # write is the one logging now (asyncio.get_running_loop costs a getpid() here).
            scheduled = self._scheduled
            if (
                scheduled is not None
                and self._thread == threading.get_ident()
                and scheduled.is_running()
            ):
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                self._scheduled, self._thread = loop, threading.get_ident()
                loop.call_later(FLUSH_SECONDS, self._write_queued)
                return
        self.flush()

    def _write_queued(self) -> None:
        """Write the queued lines (the loop's timer)."""
        self.acquire()
        try:
            self._scheduled = None
            self.flush()
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": "log lines queued for the loop"}))
        finally:
            self.release()

    def flush(self) -> None:
        """Write the queued lines, in writes a shared pipe keeps whole, and flush the stream."""
        self.acquire()
        try:
            queued, self._queued = self._queued, []  # dropped even if the stream fails
            chunk = ""
            for line in queued:
                # JSON lines are ASCII, so characters count bytes (text lines are for a terminal).
                if chunk and len(chunk) + len(line) > _PIPE_BUF:
                    self.stream.write(chunk)
                    self.stream.flush()
                    chunk = ""
                chunk += line
            if chunk:
                self.stream.write(chunk)
            super().flush()
        finally:
            self.release()

    def close(self) -> None:
        """Write what is queued, then close (the stream itself stays open)."""
        # As logging.shutdown does: a stream closed under the handler has nowhere to write.
        with contextlib.suppress(OSError, ValueError):
            self.flush()
        super().close()


def flush_handlers() -> None:
    """Write the lines the root logger's handlers hold, before an exit that skips atexit."""
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):  # as logging.shutdown: a broken stream loses lines
            handler.flush()


def configure_logging(
    level: str = "INFO", fmt: str = "text", stream: IO[str] | None = None
) -> None:
    """Send every log record to `stream` (stdout by default) in the chosen format."""
    # Resolved at call time, not as a default value, so a replaced sys.stdout is honoured.
    handler = LoopBufferedHandler(stream or sys.stdout)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, LoopBufferedHandler):
            old.close()  # its queued lines are written before it is dropped
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # No line shows a record's thread or process name: each record skips looking them up. Its
    # pid stays (`serve --processes N` writes N processes' lines to one log): ContextFilter sets
    # it from a value kept per process, without a getpid() syscall per record.
    logging.logThreads = logging.logMultiprocessing = logging.logProcesses = False
