"""What each job type runs: a chain of pipeline stages, with progress weighted across them.

A stage that finished leaves a marker under the job chain's prefix, so a retried job (same
chain) skips it and reuses its artifacts. Stages run in a worker thread; they report progress
and check for cancellation through the RunContext. The pipeline knows no runtime: stages get the
studio's Storage as their artifact store, and their StageInputError becomes InvalidArgument here.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from services.ai_job.pipeline.ports import StageInputError
from services.common import errors
from services.common.storage import Storage, guess_content_type

log = logging.getLogger(__name__)


class StageFailed(RuntimeError):
    """A stage failed in a way that retrying it might fix."""


@dataclass
class RunContext:
    """What a running stage may use: the job, its project, storage, progress and cancellation."""

    job: dict[str, Any]
    project: dict[str, Any]
    storage: Storage
    key_prefix: str
    report: Callable[[float, str, str], None]
    cancelled: Callable[[], bool]
    outputs: dict[str, Any] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    # Storage keys earlier stages hand to later ones ("breakdown", "timings", ...).
    keys: dict[str, str] = field(default_factory=dict)


StageFunction = Callable[[RunContext, Callable[[float, str], None]], dict[str, Any]]


@dataclass(frozen=True)
class Stage:
    """One step of a job type and its share of the job's progress."""

    name: str
    weight: float
    run: StageFunction

    def execute(self, ctx: RunContext, progress: Callable[[float, str], None]) -> dict[str, Any]:
        """Run the stage, its bad input raised as InvalidArgument."""
        with stage_input_errors():
            return self.run(ctx, progress)


@contextmanager
def stage_input_errors() -> Iterator[None]:
    """Raise a pipeline StageInputError as the InvalidArgument with the same violations."""
    try:
        yield
    except StageInputError as error:
        violations = [
            errors.FieldViolation(v.field, v.description, v.reason) for v in error.violations
        ]
        raise errors.InvalidArgument(violations) from error


def _script_analysis(ctx: RunContext, progress: Callable[[float, str], None]) -> dict[str, Any]:
    from services.ai_job.pipeline.script_analysis import AnalysisOptions, run_script_analysis

    parameters = ctx.job.get("parameters", {})
    options = AnalysisOptions(
        target_duration_s=float(parameters.get("duration_seconds") or 90),
        style=str(parameters.get("style") or "cinematic"),
    )
    result = run_script_analysis(
        ctx.project.get("script", ""),
        storage=ctx.storage,
        key_prefix=ctx.key_prefix,
        options=options,
        progress=progress,
        cancelled=ctx.cancelled,
    )
    stats = result.breakdown.get("stats", {})
    return {
        "artifacts": [_artifact(ctx.storage, "script_breakdown", result.artifacts["breakdown"])],
        "result": {"script_analysis": stats},
        "keys": {"breakdown": result.artifacts["breakdown"]},
    }


def _artifact(storage: Storage, kind: str, key: str) -> dict[str, Any]:
    """Describe a stored artifact for the job record."""
    return {"kind": kind, "key": key, "content_type": guess_content_type(key)}


def _voice(ctx: RunContext, progress: Callable[[float, str], None]) -> dict[str, Any]:
    from services.ai_job.pipeline.voice import VoiceOptions, run_voice_synthesis

    breakdown = json.loads(ctx.storage.get_bytes(ctx.keys["breakdown"]))
    narrator = str(ctx.job.get("parameters", {}).get("voice") or "male_narrator")
    result = run_voice_synthesis(
        breakdown,
        storage=ctx.storage,
        key_prefix=ctx.key_prefix,
        options=VoiceOptions(narrator=narrator),
        progress=progress,
        cancelled=ctx.cancelled,
    )
    return {
        "artifacts": [
            _artifact(ctx.storage, "dialogue_audio", result.artifacts["dialogue"]),
            _artifact(ctx.storage, "voice_timings", result.artifacts["timings"]),
        ],
        "result": {"voice_synthesis": {"cues": len(result.timings.get("cues", []))}},
        "keys": dict(result.artifacts),
    }


def _subtitles(ctx: RunContext, progress: Callable[[float, str], None]) -> dict[str, Any]:
    from services.ai_job.pipeline.subtitles import run_subtitles

    timings = json.loads(ctx.storage.get_bytes(ctx.keys["timings"]))
    result = run_subtitles(
        timings,
        storage=ctx.storage,
        key_prefix=ctx.key_prefix,
        progress=progress,
        cancelled=ctx.cancelled,
    )
    return {
        "artifacts": [
            _artifact(ctx.storage, "subtitles_srt", result.artifacts["srt"]),
            _artifact(ctx.storage, "subtitles_vtt", result.artifacts["vtt"]),
        ],
        "result": {"subtitle_generation": {"events": len(result.events)}},
        "keys": dict(result.artifacts),
    }


def _diagnostic(ctx: RunContext, progress: Callable[[float, str], None]) -> dict[str, Any]:
    """Sleep in small steps (checking for cancellation) and fail when told: for tests only."""
    spec = ctx.job.get("parameters", {}).get("extra", {}).get("diagnostic", {})
    attempt = int(ctx.job.get("attempt", 1))
    if attempt <= int(spec.get("fail_attempts", 0)):
        raise RuntimeError(f"diagnostic failure on attempt {attempt}")
    if spec.get("fail_once_per_chain"):
        flag = f"{ctx.key_prefix}/diagnostic-failed-once"
        if not ctx.storage.exists(flag):
            ctx.storage.put_bytes(flag, b"1")
            raise RuntimeError("diagnostic failure, once per job chain")
    seconds = float(spec.get("sleep_seconds", 0))
    steps = max(1, int(seconds / 0.05))
    for step in range(steps):
        if ctx.cancelled():
            from services.ai_job.pipeline.stage import StageCancelled

            raise StageCancelled("diagnostic")
        time.sleep(seconds / steps)
        progress((step + 1) / steps, f"diagnostic step {step + 1}/{steps}")
    flaky = int(spec.get("flaky_times", 0))
    tries = ctx.outputs.setdefault("diagnostic_tries", 0) + 1
    ctx.outputs["diagnostic_tries"] = tries
    if tries <= flaky:
        raise StageFailed(f"diagnostic flake {tries}/{flaky}")
    return {"artifacts": [], "result": {"diagnostic": {"slept": seconds, "tries": tries}}}


ANALYSIS = Stage("script_analysis", 1.0, _script_analysis)
# Weights follow measured time on the corpus sample: speech dominates.
VOICE = Stage("voice_synthesis", 6.0, _voice)
SUBTITLES = Stage("subtitle_generation", 1.0, _subtitles)
DIAGNOSTIC = Stage("diagnostic", 1.0, _diagnostic)

# Job types whose stages exist; the others (images, video, thumbnail, full generation, upload)
# answer UNIMPLEMENTED until their issues land. Later stages need the earlier ones' outputs.
CHAINS: dict[str, list[Stage]] = {
    "script_analysis": [ANALYSIS],
    "voice_synthesis": [ANALYSIS, VOICE],
    "subtitle_generation": [ANALYSIS, VOICE, SUBTITLES],
}


class RunnerRegistry:
    """Maps job types to their stage chains."""

    def __init__(self, diagnostics: bool = False) -> None:
        self.diagnostics = diagnostics

    def require(self, job_type: str) -> None:
        """Raise Unimplemented for a job type that cannot run yet."""
        if job_type not in CHAINS:
            raise errors.Unimplemented(
                f"{job_type} jobs are not available yet", reason="JOB_TYPE_NOT_AVAILABLE"
            )

    def stages(self, job: dict[str, Any]) -> list[Stage]:
        """Return the stages a job runs (a diagnostic stage first when asked and enabled)."""
        self.require(job["job_type"])
        chain = list(CHAINS[job["job_type"]])
        extra = job.get("parameters", {}).get("extra") or {}
        if self.diagnostics and "diagnostic" in extra:
            last = bool(extra["diagnostic"].get("after_stages"))
            chain.insert(len(chain) if last else 0, DIAGNOSTIC)
        return chain


def marker_key(prefix: str, stage: str) -> str:
    """Return the key of a finished stage's marker."""
    return f"{prefix}/stages/{stage}.json"


def finished_stage(storage: Storage, prefix: str, stage: str) -> dict[str, Any] | None:
    """Return a finished stage's recorded output, or None."""
    key = marker_key(prefix, stage)
    if not storage.exists(key):
        return None
    document: dict[str, Any] = json.loads(storage.get_bytes(key))
    return document


def mark_finished(storage: Storage, prefix: str, stage: str, output: dict[str, Any]) -> None:
    """Record a stage's output so a retry of the chain can skip it."""
    storage.put_bytes(
        marker_key(prefix, stage), json.dumps(output).encode(), content_type="application/json"
    )
