"""Stage 5, video composition: shot stills, the dialogue track and subtitles in; the film out.

The shots are timed to the voice track (`video_timeline`), each still is moved by a camera
(pan or push-in) and cross-faded into the next, the dialogue is mixed over optional music and
normalised, and the subtitles ride along as a soft `mov_text` track (and are burned in when
asked). The film is encoded as YouTube recommends (MP4 faststart, H.264 High 4:2:0, closed GOP
of half the frame rate, AAC-LC 48 kHz stereo, capped at its bitrates), with a small web
preview beside it, in one ffmpeg pass whose own `-progress` output drives the progress bar.

The film lasts as long as the voice track plus `VideoOptions.tail_s` (1 s by default), over
which the last shot holds and picture and sound fade out.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.ai_job.pipeline.breakdown import SCHEMA as BREAKDOWN_SCHEMA
from services.ai_job.pipeline.media_tools import probe
from services.ai_job.pipeline.ports import ReadableStore, StageInputError, validate_key
from services.ai_job.pipeline.stage import (
    CancelCheck,
    Progress,
    ProgressCallback,
    never_cancelled,
    no_progress,
    put_json,
    stage_key,
)
from services.ai_job.pipeline.video_encode import run_ffmpeg
from services.ai_job.pipeline.video_graph import Sources, StillShot, build_args
from services.ai_job.pipeline.video_options import VideoOptions
from services.ai_job.pipeline.video_timeline import (
    Rect,
    Span,
    base_view,
    clip_frames,
    plan_move,
    time_shots,
)

__all__ = ["ReadableStore", "VideoOptions", "VideoResult", "run_video_composition"]

log = logging.getLogger(__name__)

TIMELINE_SCHEMA = "filmstudio.video_timeline.v1"
MIN_SHOT_S = 1.0  # shorter shots fold into a neighbour (and always outlast two cross-fades)
MAX_SHOTS = 400  # ffmpeg opens every still at once; a film this long is about half an hour
MAX_FILM_S = 3 * 3600.0
DEFAULT_OPTIONS = VideoOptions()


@dataclass(frozen=True)
class VideoResult:
    """The keys written (`video`, `preview`, `timeline`), the film's length and its shots."""

    artifacts: dict[str, str]
    duration_s: float
    shots: list[dict[str, Any]]


def run_video_composition(
    breakdown: Mapping[str, Any],
    timings: Mapping[str, Any],
    manifest: Mapping[str, Any],
    subtitles: Mapping[str, str],
    *,
    storage: ReadableStore,
    key_prefix: str,
    options: VideoOptions = DEFAULT_OPTIONS,
    progress: ProgressCallback = no_progress,
    cancelled: CancelCheck = never_cancelled,
) -> VideoResult:
    """Compose the film and its preview; store `<prefix>/video/video.mp4`, `preview.mp4`.

    `breakdown` (filmstudio.breakdown.v2) orders the shots and names their beats, `timings`
    (filmstudio.voice_timings.v1) times them and names the dialogue WAV, `manifest`
    (filmstudio.shot_images.v1) names each shot's still, and `subtitles` holds the storage
    keys of the subtitle files (`srt`; `vtt` is accepted and unused; empty: no subtitles).
    """
    tracker = Progress("video_composition", progress, cancelled)
    tracker.checkpoint()
    options.validate()
    _check_documents(breakdown, timings, manifest)
    voice_s = float(timings.get("duration_s") or 0.0)
    if not 0.0 < voice_s <= MAX_FILM_S:
        raise StageInputError.field("timings", f"the voice track must last 0 to {MAX_FILM_S} s")
    total_frames = round((voice_s + options.tail_s) * options.fps)
    try:
        spans = time_shots(
            list(breakdown["shots"]),
            timings,
            total_frames / options.fps,
            max(MIN_SHOT_S, 2 * options.crossfade_s + 2 / options.fps),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise StageInputError.field("breakdown", f"malformed shots: {error!r}") from None
    stills = _stills(manifest, spans)
    tracker.report(0.02, f"{len(spans)} shots timed")
    with tempfile.TemporaryDirectory(prefix="filmstudio-video-") as scratch:
        work = Path(scratch)
        sources = _fetch(storage, timings, subtitles, options, stills, spans, work)
        tracker.report(0.05, "inputs fetched")
        tracker.checkpoint()
        args = build_args(sources, options, total_frames, "video.mp4", "preview.mp4")
        run_ffmpeg(
            args, cwd=work, duration_s=total_frames / options.fps, tracker=tracker, low=0.05,
            high=0.95,
        )  # fmt: skip
        duration = probe(work / "video.mp4").duration_s
        tracker.checkpoint()
        keys = {
            "video": stage_key(key_prefix, "video", "video.mp4"),
            "preview": stage_key(key_prefix, "video", "preview.mp4"),
            "timeline": stage_key(key_prefix, "video", "timeline.json"),
        }
        storage.put_file(keys["video"], work / "video.mp4", content_type="video/mp4")
        storage.put_file(keys["preview"], work / "preview.mp4", content_type="video/mp4")
    shots = [_shot_document(span, stills[span.id]) for span in spans]
    put_json(
        storage,
        keys["timeline"],
        {
            "schema": TIMELINE_SCHEMA,
            "width": options.width,
            "height": options.height,
            "fps": options.fps,
            "voice_s": voice_s,
            "tail_s": options.tail_s,
            "duration_s": round(duration, 3),
            "shots": shots,
        },
    )
    tracker.report(1.0, f"{duration:.1f} s film stored")
    log.info(
        "video: %d shots, %.1f s at %dx%d", len(spans), duration, options.width, options.height
    )
    return VideoResult(keys, round(duration, 3), shots)


def _check_documents(
    breakdown: Mapping[str, Any], timings: Mapping[str, Any], manifest: Mapping[str, Any]
) -> None:
    schemas = (
        ("breakdown", breakdown, BREAKDOWN_SCHEMA),
        ("timings", timings, "filmstudio.voice_timings.v1"),
        ("manifest", manifest, "filmstudio.shot_images.v1"),
    )
    for name, document, schema in schemas:
        if not isinstance(document, Mapping) or document.get("schema") != schema:
            raise StageInputError.field(name, f"expected a {schema} document")
    shots = breakdown.get("shots")
    if not isinstance(shots, list) or not 1 <= len(shots) <= MAX_SHOTS:
        raise StageInputError.field("breakdown", f"must have 1 to {MAX_SHOTS} shots")


@dataclass(frozen=True)
class _Still:
    key: str
    width: int
    height: int
    frame: Rect


def _stills(manifest: Mapping[str, Any], spans: list[Span]) -> dict[str, _Still]:
    """Find each timed shot's still and the frame rectangle inside it."""
    try:
        width, height = int(manifest["width"]), int(manifest["height"])
        image_w = int(manifest.get("image_width") or round(width * float(manifest["overscan"])))
        image_h = int(manifest.get("image_height") or round(height * float(manifest["overscan"])))
        box = manifest.get("frame") or {}
        frame = Rect(
            float(box.get("x", (image_w - width) / 2)),
            float(box.get("y", (image_h - height) / 2)),
            float(box.get("width", width)),
            float(box.get("height", height)),
        )
        keys = {str(shot["id"]): str(shot["key"]) for shot in manifest["shots"]}
    except (KeyError, TypeError, ValueError) as error:
        raise StageInputError.field("manifest", f"malformed manifest: {error!r}") from None
    if frame.w <= 0 or frame.h <= 0 or image_w < frame.w or image_h < frame.h:
        raise StageInputError.field("manifest", "the frame must lie inside the stills")
    missing = [span.id for span in spans if span.id not in keys]
    if missing:
        raise StageInputError.field("manifest", f"no still for shots {', '.join(missing[:5])}")
    return {
        span.id: _Still(validate_key(keys[span.id], field="manifest"), image_w, image_h, frame)
        for span in spans
    }


def _fetch(
    storage: ReadableStore,
    timings: Mapping[str, Any],
    subtitles: Mapping[str, str],
    options: VideoOptions,
    stills: dict[str, _Still],
    spans: list[Span],
    work: Path,
) -> Sources:
    """Copy the stills, the dialogue, the subtitles and the music into ffmpeg's directory."""
    aspect = options.width / options.height
    clips = clip_frames(spans, options.fps, options.crossfade_s)
    shots = []
    for number, (span, clip) in enumerate(zip(spans, clips, strict=True)):
        still = stills[span.id]
        name = f"shot-{number:04d}.png"
        storage.get_file(still.key, work / name)
        view = base_view(still.frame, aspect)
        move = plan_move(span, number, view, still.width, still.height)
        shots.append(StillShot(name, still.width, still.height, move, clip))
    audio = timings.get("audio") or {}
    if not isinstance(audio, Mapping) or not audio.get("key"):
        raise StageInputError.field("timings", "names no dialogue track (audio.key)")
    storage.get_file(validate_key(str(audio["key"]), field="timings"), work / "dialogue.wav")
    srt = None
    if subtitles.get("srt"):
        storage.get_file(validate_key(subtitles["srt"], field="subtitles"), work / "subtitles.srt")
        srt = "subtitles.srt"
    music = None
    if options.music_key:
        storage.get_file(options.music_key, work / "music.audio")
        music = "music.audio"
    return Sources(
        shots, "dialogue.wav", srt, music, _fonts_dir() if options.burn_subtitles else None
    )


def _fonts_dir() -> str:
    from services.ai_job.pipeline.image_engines.captions import font_file

    return str(font_file("Regular").parent)


def _shot_document(span: Span, still: _Still) -> dict[str, Any]:
    return {
        "id": span.id,
        "scene": span.scene,
        "kind": span.kind,
        "start_s": round(span.start_s, 3),
        "end_s": round(span.end_s, 3),
        "image": still.key,
    }
