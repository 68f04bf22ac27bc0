"""Log lines carry the request id and caller, and never a secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import random
import sys
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.context import Principal, PrincipalKind, principal_var, request_id_var
from services.common.logs import (
    _STANDARD_ATTRS,
    FLUSH_SECONDS,
    ContextFilter,
    JsonFormatter,
    LoopBufferedHandler,
    TextFormatter,
    _sole_json_handler,
    configure_logging,
    log_without_caller,
)


def _record(**extra) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "t", "levelno": 20, "levelname": "INFO", "msg": "hello %s", "args": ("you",)}
    )
    record.__dict__.update(extra)
    ContextFilter().filter(record)
    return record


def test_json_lines_carry_request_id_and_user() -> None:
    rid = request_id_var.set("req-9")
    who = principal_var.set(Principal(PrincipalKind.USER, "42"))
    try:
        line = JsonFormatter().format(_record(rpc="/x/Y"))
    finally:
        request_id_var.reset(rid)
        principal_var.reset(who)
    entry = json.loads(line)
    assert entry["message"] == "hello you"
    assert entry["request_id"] == "req-9"
    assert entry["user"] == "users/42"
    assert entry["rpc"] == "/x/Y"
    assert entry["level"] == "info"


def test_secret_looking_fields_are_redacted_in_both_formats() -> None:
    record = _record(password="hunter2", refresh_token="abc", authorization="Bearer x")
    json_line = JsonFormatter().format(record)
    text_line = TextFormatter().format(record)
    for line in (json_line, text_line):
        assert "hunter2" not in line
        assert "Bearer x" not in line
        assert "abc" not in line.replace("[redacted]", "")


def test_lines_outside_a_call_have_placeholders() -> None:
    entry = json.loads(JsonFormatter().format(_record()))
    assert entry["request_id"] == "-"
    assert entry["user"] == "-"


def test_json_lines_carry_the_trace_and_span_ids_inside_a_span() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        entry = json.loads(JsonFormatter().format(_record()))
    context = span.get_span_context()
    assert entry["trace_id"] == f"{context.trace_id:032x}"
    assert entry["span_id"] == f"{context.span_id:016x}"


def test_json_lines_outside_a_span_carry_no_trace_id() -> None:
    import opentelemetry.trace  # noqa: F401 -- loaded, as in a process with traces on

    entry = json.loads(JsonFormatter().format(_record()))
    assert "trace_id" not in entry
    assert "span_id" not in entry


# --- The line is the one json.dumps gave; the handler writes once per loop iteration. ---


def _old_json_line(record: logging.LogRecord) -> str:
    """The JSON line as it was built before the fast path: one dict through json.dumps."""
    entry: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "pid": record.process,
        "message": record.getMessage(),
    }
    for key, value in record.__dict__.items():
        if key not in _STANDARD_ATTRS and not key.startswith("_"):
            secret = any(s in key.lower() for s in ("password", "token", "secret", "authorization"))
            entry[key] = "[redacted]" if secret else value
    if record.exc_info:
        entry["exception"] = logging.Formatter().formatException(record.exc_info)
    return json.dumps(entry, default=str)


class _Opaque:
    def __str__(self) -> str:
        return "opaque\nthing"


def _records() -> list[logging.LogRecord]:
    try:
        raise ValueError("bad\nthing é")
    except ValueError:
        exc_info = sys.exc_info()
    return [
        _record(),
        _record(rpc="/filmstudio.v1.ProjectService/GetProject", code="OK", duration_ms=0.731),
        _record(password="hunter2", api_token="abc", authorization="Bearer x", count=3),
        _record(note='line one\nline two "quoted" \\ tab\t', who="Zoë 🎬 \u2028", nul="\x00"),
        _record(
            obj=_Opaque(),
            values=[1, 2.5, None, True, {"nested": _Opaque()}],
            big=10**30,
            nan=float("nan"),
            inf=float("-inf"),
            flag=False,
            nothing=None,
            kind=PrincipalKind.USER,
            pid_of="x",
        ),
        _record(pid=1234, level="extra"),  # names of the head: replaced in place, as before
        _record(exc_info=exc_info, stage="render"),
        _record(exc_info=exc_info, exception="an extra of that name"),
        _record(_private="hidden", message_id=7),
    ]


def test_json_lines_are_the_text_json_dumps_gave_their_dict() -> None:
    rid = request_id_var.set("req-9")
    who = principal_var.set(Principal(PrincipalKind.USER, "42"))
    try:
        records = _records()
    finally:
        request_id_var.reset(rid)
        principal_var.reset(who)
    formatter = JsonFormatter()
    for record in records + records:  # the second time from the formatter's cached shapes
        assert formatter.format(record) == _old_json_line(record)


def test_json_lines_carry_every_field_inside_a_span() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    rid = request_id_var.set("req-7")
    who = principal_var.set(Principal(PrincipalKind.SERVICE, "worker"))
    try:
        with tracer.start_as_current_span("work") as span:
            record = _record(rpc="/x/Y", code="INTERNAL", duration_ms=1.5, secret_key="k")
    finally:
        request_id_var.reset(rid)
        principal_var.reset(who)
    line = JsonFormatter().format(record)
    assert line == _old_json_line(record)
    context = span.get_span_context()
    assert list(json.loads(line)) == [
        *("time", "level", "logger", "pid", "message", "rpc", "code", "duration_ms"),
        *("secret_key", "request_id", "user", "trace_id", "span_id"),
    ]
    entry = json.loads(line)
    assert entry["trace_id"] == f"{context.trace_id:032x}"
    assert entry["span_id"] == f"{context.span_id:016x}"
    assert entry["user"] == "services/worker"
    assert entry["secret_key"] == "[redacted]"


def test_the_time_is_datetimes_to_the_millisecond() -> None:
    formatter = JsonFormatter()
    generator = random.Random(7)  # noqa: S311 -- spread, not secrecy
    edges = [1_700_000_000 + n + f for n in range(3) for f in (0.0, 0.0005, 0.9995, 0.9999995)]
    stamps = edges + [generator.uniform(1e9, 2e9) for _ in range(20_000)]
    dense = [1_700_000_005 + index / 7919 for index in range(20_000)]  # many in each second
    for created in stamps + sorted(stamps) + dense:
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert formatter._time(created) == expected, created


def test_unprintable_and_cyclic_extras_still_give_one_valid_line() -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    cycle: list[Any] = []
    cycle.append(cycle)
    line = JsonFormatter().format(_record(bad=Unprintable(), cycle=cycle, keys={(1, 2): 3}))
    entry = json.loads(line)
    assert entry["bad"] == "<unprintable Unprintable>"
    assert "\n" not in line


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.logThreads, logging.logMultiprocessing)
    out = io.StringIO()
    try:
        yield out
    finally:
        for handler in root.handlers:
            if handler not in saved[0]:
                handler.close()
        root.handlers[:], level, logging.logThreads, logging.logMultiprocessing = saved
        root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_hostile_extras_give_one_valid_line_each_through_the_handler(stream) -> None:
    configure_logging("DEBUG", "json", stream)
    log = logging.getLogger("t.hostile")
    hostile = [
        {"note": "a\nb\r\nc"},
        {"who": "Zoë 🎬 \u2028 \udc80"},
        {"obj": _Opaque(), "raw": b"\xff\n"},
        {"set": {1, 2}, "when": datetime.now(UTC)},
    ]
    for extra in hostile:
        log.info("hostile %s", "a\nb", extra=extra)
    entries = _lines(stream)
    assert len(entries) == len(hostile)
    assert entries[0]["note"] == "a\nb\r\nc"
    assert entries[1]["who"] == "Zoë 🎬 \u2028 \udc80"
    assert entries[2]["obj"] == "opaque\nthing"
    assert all(entry["message"] == "hostile a\nb" for entry in entries)


def test_the_access_line_is_logged_without_its_caller(stream) -> None:
    configure_logging("INFO", "json", stream)
    log = logging.getLogger("t.access")
    extra = {"rpc": "/x/Y", "code": "OK", "duration_ms": 0.25}
    log.info("rpc finished", extra=extra)
    log_without_caller(log, logging.INFO, "rpc finished", extra)
    usual, fast = _lines(stream)
    assert usual.pop("time")
    assert fast.pop("time")
    assert list(fast.items()) == list(usual.items())
    log_without_caller(log, logging.DEBUG, "below the level", extra)
    assert len(_lines(stream)) == 2
    with pytest.raises(KeyError):
        log_without_caller(log, logging.INFO, "rpc finished", {"lineno": 3})


def _without_time(line: str) -> str:
    """Return a JSON line with its time's value blanked (the two ways log at different times)."""
    head, _, rest = line.partition('"time": "')
    return head + '"time": "' + rest.split('"', 1)[1]


@pytest.mark.parametrize(
    "extra",
    [
        {"rpc": "/x/Y", "code": "OK", "duration_ms": 0.25},
        {"request_id": "from-the-gateway", "status": 200},  # the gateway names its own id
        {"api_token": "hunter2", "n": float("nan"), "_private": 1},  # redacted, odd, skipped
        {"time": "an extra named like the head"},  # the record's dict path: same line
        {"nested": {"a": [1, 2]}, "who": "Zoë \u2028 \udc80", "raw": b"\xff"},
    ],
)
def test_the_fast_access_line_is_the_records_line(stream, extra) -> None:
    configure_logging("INFO", "json", stream)
    log = logging.getLogger("t.access.same")
    assert _sole_json_handler(log, logging.INFO) is logging.getLogger().handlers[0]  # fast
    request = request_id_var.set("req-1")
    principal = principal_var.set(Principal(PrincipalKind.USER, "42"))
    try:
        log.info("rpc finished", extra=dict(extra))
        log_without_caller(log, logging.INFO, "rpc finished", dict(extra))
    finally:
        principal_var.reset(principal)
        request_id_var.reset(request)
    usual, fast = stream.getvalue().splitlines()
    assert _without_time(fast) == _without_time(usual)


def test_the_fast_access_line_carries_the_span_inside_one(stream) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    configure_logging("INFO", "json", stream)
    log = logging.getLogger("t.access.span")
    with TracerProvider().get_tracer("test").start_as_current_span("work"):
        log.info("rpc finished", extra={"code": "OK"})
        log_without_caller(log, logging.INFO, "rpc finished", {"code": "OK"})
    usual, fast = stream.getvalue().splitlines()
    assert '"trace_id": ' in fast
    assert _without_time(fast) == _without_time(usual)


def test_another_handler_or_filter_still_sees_the_access_line(stream) -> None:
    configure_logging("INFO", "json", stream)
    log = logging.getLogger("t.access.seen")
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    log.addHandler(keep)  # as pytest's caplog or an exporter adds one
    try:
        log_without_caller(log, logging.INFO, "rpc finished", {"code": "OK"})
    finally:
        log.removeHandler(keep)
    log.addFilter(lambda record: record.__dict__.get("code") != "HIDDEN")
    try:
        log_without_caller(log, logging.INFO, "rpc finished", {"code": "HIDDEN"})
    finally:
        log.filters.clear()
    assert [record.__dict__["code"] for record in seen] == ["OK"]
    assert [line["code"] for line in _lines(stream)] == ["OK"]


def test_lines_carry_the_pid_without_a_getpid_per_record(stream) -> None:
    configure_logging("INFO", "json", stream)
    assert logging.makeLogRecord({}).process is None  # logging.logProcesses is off
    logging.getLogger("t").info("which process")
    assert _lines(stream)[0]["pid"] == os.getpid()


def test_lines_outside_a_loop_are_written_at_once(stream) -> None:
    configure_logging("INFO", "json", stream)
    logging.getLogger("t").info("now")
    assert [entry["message"] for entry in _lines(stream)] == ["now"]


# Long enough for a batch's timer, set before the test's sleep, to have fired.
WRITTEN = FLUSH_SECONDS * 2


async def test_lines_in_a_loop_are_written_together_within_the_flush_interval(stream) -> None:
    configure_logging("INFO", "json", stream)
    log = logging.getLogger("t")
    log.info("one")
    await asyncio.sleep(0)
    log.info("two")  # a later iteration: it joins the first line's batch
    await asyncio.sleep(0)
    assert stream.getvalue() == ""
    await asyncio.sleep(WRITTEN)
    assert [entry["message"] for entry in _lines(stream)] == ["one", "two"]
    log.info("three")
    await asyncio.sleep(WRITTEN)
    assert [entry["message"] for entry in _lines(stream)] == ["one", "two", "three"]


async def test_warnings_are_written_at_once_with_the_lines_before_them(stream) -> None:
    configure_logging("INFO", "json", stream)
    log = logging.getLogger("t")
    log.info("before")
    log.warning("careful")
    assert [entry["message"] for entry in _lines(stream)] == ["before", "careful"]
    log.info("after")
    await asyncio.sleep(WRITTEN)
    assert [entry["message"] for entry in _lines(stream)] == ["before", "careful", "after"]


async def test_queued_lines_are_written_at_close_and_at_shutdown(stream) -> None:
    configure_logging("INFO", "json", stream)
    log = logging.getLogger("t")
    log.info("queued")
    handler = logging.getLogger().handlers[0]
    handler.close()
    assert [entry["message"] for entry in _lines(stream)] == ["queued"]

    configure_logging("INFO", "json", stream)
    log.info("at shutdown")
    logging.shutdown([weakref.ref(logging.getLogger().handlers[0])])
    assert _lines(stream)[-1]["message"] == "at shutdown"

    configure_logging("INFO", "json", stream)
    log.info("replaced")
    configure_logging("INFO", "json", stream)  # the handler it replaces writes its queue
    assert _lines(stream)[-1]["message"] == "replaced"


def test_lines_a_closed_loop_left_queued_are_written_later(stream) -> None:
    configure_logging("INFO", "json", stream)
    log = logging.getLogger("t")
    loop = asyncio.new_event_loop()
    # Logged in the loop's last iteration: the callback that would write it never runs.
    loop.call_soon(lambda: (loop.stop(), log.info("stranded")))
    loop.run_forever()
    loop.close()
    assert stream.getvalue() == ""

    async def main() -> None:
        log.info("next loop")
        await asyncio.sleep(WRITTEN)

    asyncio.run(main())
    assert [entry["message"] for entry in _lines(stream)] == ["stranded", "next loop"]


def test_many_queued_lines_are_written_in_pieces_a_pipe_keeps_whole() -> None:
    written: list[str] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            written.append(text)
            return len(text)

    handler = LoopBufferedHandler(Recorder())
    handler.setFormatter(logging.Formatter("%(message)s"))

    async def main() -> None:
        for index in range(100):
            handler.handle(_record(msg=f"{index:03d} " + "x" * 200, args=()))
        await asyncio.sleep(WRITTEN)

    asyncio.run(main())
    assert all(len(piece) <= 4096 and piece.endswith("\n") for piece in written)
    assert len(written) < 10
    assert "".join(written).splitlines() == [f"{i:03d} " + "x" * 200 for i in range(100)]


def test_text_lines_still_carry_their_fields(stream) -> None:
    configure_logging("INFO", "text", stream)
    rid = request_id_var.set("req-3")
    try:
        logging.getLogger("t.text").info("hello", extra={"rpc": "/x/Y", "password": "pw"})
    finally:
        request_id_var.reset(rid)
    line = stream.getvalue()
    assert line.count("\n") == 1
    assert "INFO    t.text [req-3 -] hello rpc=/x/Y password=[redacted]" in line
