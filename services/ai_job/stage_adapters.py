"""The jobs domain's side of each pipeline stage: job parameters in, artifacts and keys out.

Each adapter reads what earlier stages handed on (`ctx.keys`), calls the pure stage with the
studio's storage, and returns what the job records: artifacts, a result summary and the keys
later stages read.
"""

from __future__ import annotations

import json
from typing import Any

from services.ai_job.pipeline.video_options import HEIGHTS
from services.ai_job.pipeline.voice_engines import VoiceEngine, choose_engine
from services.ai_job.stage_graph import Progress, RunContext
from services.common.config import Settings
from services.common.storage import Storage, guess_content_type

# Frame heights by resolution; widths follow the aspect ratio.
ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
# A job may ask for a smaller picture (previews, tests) with extra.render_height.
MIN_RENDER_HEIGHT, MAX_RENDER_HEIGHT = 90, 2160


def options_from(settings: Settings) -> dict[str, Any]:
    """Return the worker's own choices the stages read (engines, the model directory)."""
    return {
        "image_engine": settings.image_engine,
        "model_dir": str(settings.model_dir or ""),
        "voice_engine": settings.voice_engine,
        "voice_command": settings.voice_command,
        "voice_command_voices": settings.voice_command_voices,
    }


def frame_size(ctx: RunContext) -> tuple[int, int]:
    """Return the film's width and height from its resolution and aspect ratio (even numbers)."""
    wide, tall = ASPECTS.get(str(ctx.parameter("aspect_ratio", "16:9")), (16, 9))
    base = HEIGHTS.get(str(ctx.parameter("resolution", "720p")), 720)
    override = ctx.extra_parameter("render_height")
    if override:
        base = max(MIN_RENDER_HEIGHT, min(MAX_RENDER_HEIGHT, int(override)))
    # The short side is the resolution's height (720p at 9:16 is 720x1280, as YouTube has it).
    long_side = base * max(wide, tall) / min(wide, tall)
    width, height = (long_side, base) if wide >= tall else (base, long_side)
    return round(width / 2) * 2, round(height / 2) * 2


def image_engine(ctx: RunContext) -> str:
    """Return the image engine: the job's choice, else the worker's."""
    return str(
        ctx.extra_parameter("image_engine") or ctx.options.get("image_engine") or "storyboard"
    )


def voice_engine(ctx: RunContext) -> VoiceEngine:
    """Return the speech engine: the job's choice (extra.voice_engine), else the worker's."""
    return choose_engine(
        str(ctx.extra_parameter("voice_engine", "") or ""),
        str(ctx.options.get("voice_engine") or ""),
        ctx.options.get("voice_command"),
        str(ctx.options.get("voice_command_voices") or ""),
    )


def artifact(storage: Storage, kind: str, key: str) -> dict[str, Any]:
    """Describe a stored artifact for the job record."""
    return {"kind": kind, "key": key, "content_type": guess_content_type(key)}


def _json(ctx: RunContext, name: str) -> Any:
    return json.loads(ctx.storage.get_bytes(ctx.keys[name]))


def script_analysis(ctx: RunContext, progress: Progress) -> dict[str, Any]:
    """Break the script down into scenes, lines and shots."""
    from services.ai_job.pipeline.script_analysis import AnalysisOptions, run_script_analysis

    options = AnalysisOptions(
        target_duration_s=float(ctx.parameter("duration_seconds", 90)),
        style=str(ctx.parameter("style", "cinematic")),
    )
    result = run_script_analysis(
        ctx.project.get("script", ""),
        storage=ctx.storage,
        key_prefix=ctx.key_prefix,
        options=options,
        progress=progress,
        cancelled=ctx.cancelled,
    )
    return {
        "artifacts": [artifact(ctx.storage, "script_breakdown", result.artifacts["breakdown"])],
        "result": {"script_analysis": result.breakdown.get("stats", {})},
        "keys": {"breakdown": result.artifacts["breakdown"]},
    }


def voice(ctx: RunContext, progress: Progress) -> dict[str, Any]:
    """Speak every line of the breakdown into one dialogue track with its timings."""
    from services.ai_job.pipeline.voice import VoiceOptions, run_voice_synthesis

    result = run_voice_synthesis(
        _json(ctx, "breakdown"),
        storage=ctx.storage,
        key_prefix=ctx.key_prefix,
        options=VoiceOptions(narrator=str(ctx.parameter("voice", "male_narrator"))),
        engine=voice_engine(ctx),
        progress=progress,
        cancelled=ctx.cancelled,
    )
    return {
        "artifacts": [
            artifact(ctx.storage, "dialogue_audio", result.artifacts["dialogue"]),
            artifact(ctx.storage, "voice_timings", result.artifacts["timings"]),
        ],
        "result": {"voice_synthesis": {"cues": len(result.timings.get("cues", []))}},
        "keys": dict(result.artifacts),
    }


def subtitles(ctx: RunContext, progress: Progress) -> dict[str, Any]:
    """Cut the voice timings into subtitle events, as SRT and WebVTT."""
    from services.ai_job.pipeline.subtitles import run_subtitles

    result = run_subtitles(
        _json(ctx, "timings"),
        storage=ctx.storage,
        key_prefix=ctx.key_prefix,
        progress=progress,
        cancelled=ctx.cancelled,
    )
    return {
        "artifacts": [
            artifact(ctx.storage, "subtitles_srt", result.artifacts["srt"]),
            artifact(ctx.storage, "subtitles_vtt", result.artifacts["vtt"]),
        ],
        "result": {"subtitle_generation": {"events": len(result.events)}},
        "keys": dict(result.artifacts),
    }


def images(ctx: RunContext, progress: Progress) -> dict[str, Any]:
    """Render one keyframe per shot of the breakdown."""
    from services.ai_job.pipeline.images import ImageOptions, run_image_generation

    width, height = frame_size(ctx)
    result = run_image_generation(
        _json(ctx, "breakdown"),
        storage=ctx.storage,
        key_prefix=ctx.key_prefix,
        options=ImageOptions(
            engine=image_engine(ctx),
            width=width,
            height=height,
            style=str(ctx.parameter("style", "cinematic")),
            seed=int(ctx.extra_parameter("seed", 0) or 0),
            model_dir=str(ctx.options.get("model_dir") or ""),
        ),
        progress=progress,
        cancelled=ctx.cancelled,
    )
    shots = result.manifest.get("shots", [])
    return {
        "artifacts": [artifact(ctx.storage, "scene_images", result.artifacts["manifest"])],
        "result": {"image_generation": {"shots": len(shots), "engine": image_engine(ctx)}},
        "keys": {"images": result.artifacts["manifest"]},
    }


def _whole(value: Any) -> Any:
    """Return a JSON number that is whole as an int (Struct numbers are floats); else as is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value  # the stage's validation names anything else


def video(ctx: RunContext, progress: Progress) -> dict[str, Any]:
    """Compose the shots, the dialogue and the subtitles into the film and a web preview."""
    from services.ai_job.pipeline.video import VideoOptions, run_video_composition

    width, height = frame_size(ctx)
    options = VideoOptions(
        width=width,
        height=height,
        fps=_whole(ctx.extra_parameter("fps", VideoOptions.fps)),
        burn_subtitles=bool(ctx.extra_parameter("burn_subtitles")),
    )
    result = run_video_composition(
        _json(ctx, "breakdown"),
        _json(ctx, "timings"),
        _json(ctx, "images"),
        {"srt": ctx.keys["srt"], "vtt": ctx.keys["vtt"]},
        storage=ctx.storage,
        key_prefix=ctx.key_prefix,
        options=options,
        progress=progress,
        cancelled=ctx.cancelled,
    )
    return {
        "artifacts": [
            artifact(ctx.storage, "video", result.artifacts["video"]),
            artifact(ctx.storage, "video_preview", result.artifacts["preview"]),
            artifact(ctx.storage, "video_timeline", result.artifacts["timeline"]),
        ],
        "result": {
            "video_composition": {
                "duration_s": result.duration_s,
                # The picture holds and fades out this long after the voice ends.
                "padding_s": options.tail_s,
                "width": width,
                "height": height,
                "shots": len(result.shots),
            }
        },
        "keys": {"video": result.artifacts["video"], "preview": result.artifacts["preview"]},
    }


def thumbnail(ctx: RunContext, progress: Progress) -> dict[str, Any]:
    """Pick the film's best frame and title it."""
    from services.ai_job.pipeline.thumbnail import run_thumbnail

    result = run_thumbnail(
        ctx.keys["video"],
        str(ctx.project.get("title", "")),
        storage=ctx.storage,
        key_prefix=ctx.key_prefix,
        progress=progress,
        cancelled=ctx.cancelled,
    )
    return {
        "artifacts": [artifact(ctx.storage, "thumbnail", result.artifacts["thumbnail"])],
        "result": {"thumbnail_generation": {"key": result.artifacts["thumbnail"]}},
        "keys": {"thumbnail": result.artifacts["thumbnail"]},
    }
