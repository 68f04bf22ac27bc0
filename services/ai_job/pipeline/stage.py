"""What every stage shares: progress, cancellation checkpoints, JSON artifacts, external tools.

`ToolFailed` lives in ports.py (media_tools raises it too) and is importable from here.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from services.ai_job.pipeline.media_tools import ffmpeg_exe
from services.ai_job.pipeline.ports import (
    ArtifactStore,
    StoredArtifact,
    join_key,
    validate_key,
)
from services.ai_job.pipeline.ports import (
    ToolFailed as ToolFailed,  # re-exported: stages raise it from here
)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float, str], None]
CancelCheck = Callable[[], bool]

TOOL_TIMEOUT_SECONDS = 600.0


class StageCancelled(Exception):
    """The job was cancelled; the stage stopped at a checkpoint before writing its artifacts."""

    def __init__(self, stage: str) -> None:
        super().__init__(f"{stage} cancelled")
        self.stage = stage


def no_progress(fraction: float, message: str) -> None:
    """Ignore progress (the default callback)."""


def never_cancelled() -> bool:
    """Never ask a stage to stop (the default cancel check)."""
    return False


class Progress:
    """Monotonic progress of one stage, with the cancellation checkpoint beside it."""

    def __init__(self, stage: str, callback: ProgressCallback, cancelled: CancelCheck) -> None:
        self.stage = stage
        self._callback = callback
        self._cancelled = cancelled
        self.fraction = 0.0

    def checkpoint(self) -> None:
        """Raise StageCancelled if the job was cancelled."""
        if self._cancelled():
            log.info("%s: cancelled at %.0f%%", self.stage, self.fraction * 100)
            raise StageCancelled(self.stage)

    def report(self, fraction: float, message: str) -> None:
        """Report `fraction` of the stage done; never goes backwards or past 1."""
        fraction = min(1.0, max(self.fraction, fraction))
        self.fraction = fraction
        self._callback(fraction, message)

    def step(self, done: int, total: int, low: float, high: float, message: str) -> None:
        """Report item `done` of `total` as a point between `low` and `high`, then checkpoint."""
        self.report(low + (high - low) * (done / total if total else 1.0), message)
        self.checkpoint()


def put_json(
    storage: ArtifactStore, key: str, document: Any, *, compact: bool = False
) -> StoredArtifact:
    """Store `document` as UTF-8 JSON: pretty, or without whitespace when it may be large."""
    if compact:
        data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    else:
        data = json.dumps(document, ensure_ascii=False, indent=1).encode()
    return storage.put_bytes(key, data, content_type="application/json")


def stage_key(key_prefix: str, *parts: str) -> str:
    """Build a job-scoped artifact key under `key_prefix`."""
    return join_key(validate_key(key_prefix, field="key_prefix"), *parts)


def find_tool(name: str) -> str:
    """Return the path of a program: ffmpeg as media_tools finds it, others on the PATH."""
    if name == "ffmpeg":
        return ffmpeg_exe()
    executable = shutil.which(name)
    if executable is None:
        raise ToolFailed(f"{name} is not installed or not on the PATH")
    return executable


def run_tool(
    args: Sequence[str], *, stdin: bytes | None = None, timeout: float = TOOL_TIMEOUT_SECONDS
) -> subprocess.CompletedProcess[bytes]:
    """Run an external program without a shell; raise ToolFailed if it is missing or fails."""
    executable = find_tool(args[0])
    try:
        # The arguments are built by our code from validated values, never by a shell.
        result = subprocess.run(  # noqa: S603
            [executable, *args[1:]], input=stdin, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise ToolFailed(f"{args[0]} ran longer than {timeout:.0f} s") from error
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace")[-2000:]
        raise ToolFailed(f"{args[0]} exited with {result.returncode}: {tail}")
    return result
