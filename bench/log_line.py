"""What one "rpc finished" access log line costs the event loop, the old way and the new, per line.

The old way is a copy of the logging before services/common/logs.py's fast path: the record made
by Logger.log (with its stack walk for the caller, thread and process names), ContextFilter,
a JsonFormatter building a dict for json.dumps(default=str) and datetime's isoformat, and a
StreamHandler writing and flushing each line. The new way is the studio's own:
configure_logging("INFO", "json") and the interceptor's log_without_caller. Both log the
interceptor's line with the same request id, caller and extras, from a coroutine on uvloop (as
the servers run) that logs `--per-iteration` lines and then yields to the loop, into a file.
The loop's own cost (the same coroutine, logging nothing) is subtracted from both. Rounds
alternate the two ways and each ratio is taken within its round (the machine is shared). At the
end, both files must hold as many lines, the last of each the same fields and values but the time.

With --pipe each way writes into a pipe that a `cat` process copies into the file, as servers
write stdout to the process that collects their logs.

    .venv/bin/python bench/log_line.py [--lines 50000] [--rounds 5] [--per-iteration 1 16] [--pipe]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

import opentelemetry.trace  # noqa: E402, F401 -- imported in every server (the interceptor)
import uvloop  # noqa: E402

from services.common.context import (  # noqa: E402
    Principal,
    PrincipalKind,
    current_principal,
    current_request_id,
    principal_var,
    request_id_var,
)
from services.common.logs import configure_logging, log_without_caller  # noqa: E402

METHOD = "/filmstudio.v1.ProjectService/GetProject"
log = logging.getLogger("services.common.interceptors")


# --- The old way: services/common/logs.py and the interceptor's log call before this change. ---

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_SECRET_KEYS = ("password", "token", "secret", "authorization")


class OldContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        principal = current_principal()
        record.request_id = current_request_id() or getattr(record, "request_id", None) or "-"
        record.user = principal.resource_name if principal else "-"
        otel = sys.modules.get("opentelemetry.trace")
        span = otel.get_current_span().get_span_context() if otel is not None else None
        if span is not None and span.is_valid:
            record.trace_id = format(span.trace_id, "032x")
            record.span_id = format(span.span_id, "016x")
        return True


def _old_redact(key: str, value: Any) -> Any:
    if any(secret in key.lower() for secret in _SECRET_KEYS):
        return "[redacted]"
    return value


class OldJsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = _old_redact(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_old(stream: Any) -> None:
    handler = logging.StreamHandler(stream)
    handler.addFilter(OldContextFilter())
    handler.setFormatter(OldJsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # The defaults it ran with (configure_logging turns them off).
    logging.logThreads = logging.logMultiprocessing = logging.logProcesses = True


def old_line(method: str, elapsed_ms: float) -> None:
    level = logging.INFO
    if log.isEnabledFor(level):
        log.log(
            level,
            "rpc finished",
            extra={"rpc": method, "code": "OK", "duration_ms": elapsed_ms},
        )


# --- The new way: the studio's own. ---


def configure_new(stream: Any) -> None:
    configure_logging("INFO", "json", stream)


def new_line(method: str, elapsed_ms: float) -> None:
    level = logging.INFO
    if log.isEnabledFor(level):
        extra = {"rpc": method, "code": "OK", "duration_ms": elapsed_ms}
        log_without_caller(log, level, "rpc finished", extra)


async def _run(line: Any, lines: int, per_iteration: int) -> float:
    """Return the seconds taken to log `lines` lines, yielding to the loop between batches."""
    started = time.perf_counter()
    for _ in range(lines // per_iteration):
        for _ in range(per_iteration):
            line(METHOD, 0.731)
        await asyncio.sleep(0)
    return time.perf_counter() - started


def _nothing(method: str, elapsed_ms: float) -> None:
    pass


async def _round(
    files: dict[str, Any], lines: int, per_iteration: int, flip: bool
) -> dict[str, float]:
    ways = [("old", configure_old, old_line), ("new", configure_new, new_line)]
    times: dict[str, float] = {}
    for name, configure, line in reversed(ways) if flip else ways:
        configure(files[name])
        loop_only = await _run(_nothing, lines, per_iteration)
        spent = await _run(line, lines, per_iteration)
        await asyncio.sleep(0)  # the new way's last lines are written at the iteration's end
        times[name] = (spent - loop_only) / lines * 1e6
    return times


async def main_async(args: argparse.Namespace, files: dict[str, Any]) -> None:
    request_id_var.set("5f0c6a8e2b7d4e1f9a3c0b6d8e2f4a1c")  # as inside a call
    principal_var.set(Principal(PrincipalKind.USER, "42"))
    for per_iteration in args.per_iteration:
        await _round(files, max(args.lines // 10, per_iteration), per_iteration, False)  # warm
        rows = [
            await _round(files, args.lines, per_iteration, index % 2 == 1)
            for index in range(args.rounds)
        ]
        old = statistics.median(row["old"] for row in rows)
        new = statistics.median(row["new"] for row in rows)
        ratio = statistics.median(row["new"] / row["old"] for row in rows)
        print(
            f"{per_iteration:>3} lines per loop iteration: old {old:6.2f} µs/line, "
            f"new {new:6.2f} µs/line, new/old {ratio:.2f} (median of {args.rounds} rounds)"
        )


def _check(paths: dict[str, Path]) -> None:
    """Fail unless both files have as many lines, the last the same fields and values."""
    last, counts = {}, {}
    for name, path in paths.items():
        lines = path.read_text().splitlines()
        counts[name] = len(lines)
        entry = json.loads(lines[-1])
        datetime.fromisoformat(entry.pop("time"))
        last[name] = entry
    if counts["old"] != counts["new"]:
        raise SystemExit(f"the files differ in lines: {counts}")
    if list(last["old"].items()) != list(last["new"].items()):
        raise SystemExit(f"the lines differ:\n  old {last['old']}\n  new {last['new']}")
    print("same fields, order and values (but the time):", json.dumps(last["new"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-iteration", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--pipe", action="store_true", help="write into a pipe, as to a log agent")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="log-line-") as folder:
        paths = {name: Path(folder) / f"{name}.log" for name in ("old", "new")}
        readers: list[subprocess.Popen[bytes]] = []
        files: dict[str, Any] = {}
        for name, path in paths.items():
            if args.pipe:  # a pipe that a `cat` copies into the file
                with path.open("w") as sink:
                    reader = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=sink)
                readers.append(reader)
                files[name] = io.TextIOWrapper(reader.stdin)
            else:
                files[name] = path.open("w")
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(main_async(args, files))
            logging.getLogger().handlers[0].close()
        finally:
            for file in files.values():
                file.close()
            for reader in readers:
                reader.wait()
        _check(paths)


if __name__ == "__main__":
    main()
