"""Run a long ffmpeg encode: progress from its own `-progress` output, stopped when cancelled.

`stage.run_tool` waits for a program to finish; an encode takes minutes, so this one reads
ffmpeg's `out_time_us` lines as they come, reports them against the film's length, checks for
cancellation between them, and terminates ffmpeg (then kills it) when the job is cancelled or
ffmpeg stops making progress.
"""

from __future__ import annotations

import logging
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from services.ai_job.pipeline.stage import Progress, ToolFailed, find_tool

log = logging.getLogger(__name__)

POLL_S = 0.2
STALL_S = 300.0  # no progress line for this long: ffmpeg is stuck
STOP_GRACE_S = 5.0


def run_ffmpeg(
    args: Sequence[str],
    *,
    cwd: Path,
    duration_s: float,
    tracker: Progress,
    low: float,
    high: float,
) -> None:
    """Run ffmpeg with `args` in `cwd`, reporting progress from `low` to `high` of the stage."""
    executable = find_tool("ffmpeg")
    with tempfile.TemporaryFile() as errors:
        # Arguments come from our graph builder and validated options, never from a shell.
        process = subprocess.Popen(  # noqa: S603
            [executable, *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(
            target=_read_lines, args=(process.stdout, lines), name="ffmpeg-progress", daemon=True
        )
        reader.start()
        try:
            _follow(process, lines, duration_s, tracker, low, high)
        except BaseException:
            _stop(process)
            raise
        finally:
            reader.join(timeout=STOP_GRACE_S)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise ToolFailed(f"ffmpeg exited with {process.returncode}: {tail}")


def _read_lines(stream: IO[bytes] | None, lines: queue.Queue[str | None]) -> None:
    assert stream is not None
    for raw in stream:
        lines.put(raw.decode(errors="replace").strip())
    lines.put(None)


def _follow(
    process: subprocess.Popen[bytes],
    lines: queue.Queue[str | None],
    duration_s: float,
    tracker: Progress,
    low: float,
    high: float,
) -> None:
    """Report each `out_time_us` until ffmpeg's output ends; stop it if cancelled or stalled."""
    last_news = time.monotonic()
    while True:
        tracker.checkpoint()  # raises StageCancelled; the caller then stops ffmpeg
        try:
            line = lines.get(timeout=POLL_S)
        except queue.Empty:
            if time.monotonic() - last_news > STALL_S:
                raise ToolFailed(f"ffmpeg made no progress for {STALL_S:.0f} s") from None
            continue
        if line is None:
            process.wait()
            return
        last_news = time.monotonic()
        key, _, value = line.partition("=")
        if key == "out_time_us" and value.strip().lstrip("-").isdigit() and duration_s > 0:
            done = min(1.0, max(0.0, int(value) / 1e6 / duration_s))
            tracker.report(low + (high - low) * done, f"encoded {done:.0%}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ask ffmpeg to stop, then kill it if it does not."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
