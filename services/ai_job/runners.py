"""What each job type runs: the film's stages, what each needs and reads, and their weights.

The stages form a graph (script analysis, then voice beside images, then subtitles, the video
and the thumbnail); a job type names the stages it wants and gets everything they need, run by
stage_graph.GraphRunner. The pipeline knows no runtime: the stages get the studio's Storage as
their artifact store, and their StageInputError becomes InvalidArgument in stage_graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from services.ai_job import stage_adapters as adapt
from services.ai_job.stage_graph import Progress, RunContext, Stage, StageFailed, order
from services.common import errors
from services.common.config import Settings


def _analysis_inputs(ctx: RunContext) -> Mapping[str, Any]:
    return {
        "script": ctx.project.get("script", ""),
        "duration_seconds": ctx.parameter("duration_seconds", 90),
        "style": ctx.parameter("style", "cinematic"),
    }


def _voice_inputs(ctx: RunContext) -> Mapping[str, Any]:
    return {
        "voice": ctx.parameter("voice", "male_narrator"),
        "engine": ctx.extra_parameter("voice_engine", "") or ctx.options.get("voice_engine", ""),
    }


def _image_inputs(ctx: RunContext) -> Mapping[str, Any]:
    return {
        "size": adapt.frame_size(ctx),
        "style": ctx.parameter("style", "cinematic"),
        "engine": adapt.image_engine(ctx),
        "model_dir": ctx.options.get("model_dir") or "",
        "seed": ctx.extra_parameter("seed", 0),
    }


def _video_inputs(ctx: RunContext) -> Mapping[str, Any]:
    return {
        "size": adapt.frame_size(ctx),
        "burn_subtitles": bool(ctx.extra_parameter("burn_subtitles")),
    }


def _thumbnail_inputs(ctx: RunContext) -> Mapping[str, Any]:
    return {"title": ctx.project.get("title", "")}


def _diagnostic_inputs(ctx: RunContext) -> Mapping[str, Any]:
    # Diagnostics test the machinery of one job chain: never reused across chains.
    return {
        "chain": ctx.extra_parameter("chain_root", ctx.job.get("id")),
        "spec": ctx.extra_parameter("diagnostic"),
    }


def _diagnostic(ctx: RunContext, progress: Progress) -> dict[str, Any]:
    """Sleep in small steps (checking for cancellation) and fail when told: for tests only."""
    from services.ai_job.pipeline.stage import StageCancelled

    spec = ctx.extra_parameter("diagnostic", {})
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
    # An uninterruptible sleep stands for work that cannot stop part-way (one long call).
    heeds_cancel = not spec.get("uninterruptible")
    for step in range(steps):
        if heeds_cancel and ctx.cancelled():
            raise StageCancelled("diagnostic")
        time.sleep(seconds / steps)
        progress((step + 1) / steps, f"diagnostic step {step + 1}/{steps}")
    flaky = int(spec.get("flaky_times", 0))
    tries = ctx.outputs.setdefault("diagnostic_tries", 0) + 1
    ctx.outputs["diagnostic_tries"] = tries
    if tries <= flaky:
        raise StageFailed(f"diagnostic flake {tries}/{flaky}")
    return {"artifacts": [], "result": {"diagnostic": {"slept": seconds, "tries": tries}}}


# Weights follow measured time on the corpus sample at 720p: speech and pictures dominate.
STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage("script_analysis", 1.0, adapt.script_analysis, (), _analysis_inputs),
        Stage("voice_synthesis", 6.0, adapt.voice, ("script_analysis",), _voice_inputs),
        Stage("subtitle_generation", 1.0, adapt.subtitles, ("voice_synthesis",)),
        Stage("image_generation", 6.0, adapt.images, ("script_analysis",), _image_inputs),
        Stage(
            "video_composition",
            8.0,
            adapt.video,
            ("image_generation", "voice_synthesis", "subtitle_generation"),
            _video_inputs,
        ),
        Stage(
            "thumbnail_generation", 1.0, adapt.thumbnail, ("video_composition",), _thumbnail_inputs
        ),
    )
}
DIAGNOSTIC = Stage("diagnostic", 1.0, _diagnostic, (), _diagnostic_inputs)

# What each job type asks for; the stages they need come with them.
TARGETS: dict[str, tuple[str, ...]] = {
    "script_analysis": ("script_analysis",),
    "voice_synthesis": ("voice_synthesis",),
    "subtitle_generation": ("subtitle_generation",),
    "image_generation": ("image_generation",),
    "video_composition": ("video_composition",),
    "thumbnail_generation": ("thumbnail_generation",),
    "full_generation": ("thumbnail_generation",),
}

# Job types a domain above the jobs brings (the YouTube upload): one stage, made from the
# worker's settings. The jobs domain may not import those domains, so they plug in here.
PLUGGED: dict[str, Callable[[Settings], Stage]] = {}


def plug(job_type: str, make_stage: Callable[[Settings], Stage]) -> None:
    """Let another domain run a job type of its own as one stage."""
    PLUGGED[job_type] = make_stage


class RunnerRegistry:
    """Maps job types to their stage graphs."""

    def __init__(self, diagnostics: bool = False, settings: Settings | None = None) -> None:
        self.diagnostics = diagnostics
        self.settings = settings

    def require(self, job_type: str) -> None:
        """Raise Unimplemented for a job type that cannot run yet."""
        if job_type not in TARGETS and job_type not in PLUGGED:
            raise errors.Unimplemented(
                f"{job_type} jobs are not available yet", reason="JOB_TYPE_NOT_AVAILABLE"
            )

    def stages(self, job: dict[str, Any]) -> list[Stage]:
        """Return the stages a job runs, each after what it needs (a diagnostic when asked)."""
        self.require(job["job_type"])
        if job["job_type"] in PLUGGED and self.settings is not None:
            return [PLUGGED[job["job_type"]](self.settings)]
        graph = order(STAGES, TARGETS[job["job_type"]])
        extra = job.get("parameters", {}).get("extra") or {}
        if self.diagnostics and "diagnostic" in extra:
            if extra["diagnostic"].get("after_stages"):
                last = graph[-1].name
                return [*graph, Stage("diagnostic", 1.0, _diagnostic, (last,), _diagnostic_inputs)]
            return [DIAGNOSTIC, *(_after(stage, "diagnostic") for stage in graph)]
        return graph


def _after(stage: Stage, first: str) -> Stage:
    """Return a stage that needs nothing made to wait for `first`."""
    return replace(stage, needs=(*stage.needs, first)) if not stage.needs else stage
