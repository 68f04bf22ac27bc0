"""Log lines carry the request id and caller, and never a secret."""

from __future__ import annotations

import json
import logging

from services.common.context import Principal, PrincipalKind, principal_var, request_id_var
from services.common.logs import ContextFilter, JsonFormatter, TextFormatter


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
