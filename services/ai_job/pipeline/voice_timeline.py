"""The voice stage's timeline: which lines are spoken, and where each one lands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.ai_job.pipeline.audio import Pcm
from services.ai_job.pipeline.breakdown import NARRATOR
from services.ai_job.pipeline.breakdown import SCHEMA as BREAKDOWN_SCHEMA
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.text import one_line
from services.ai_job.pipeline.voice_engines import Voice

LINE_GAP_S = 0.25  # the least silence between two lines
SCENE_TAIL_S = 0.4  # silence after a scene's last line before the next scene may start


@dataclass
class Line:
    """One spoken line: where the breakdown planned it, its voice, audio and phrases."""

    scene: int
    beat: int
    kind: str
    speaker: str
    text: str
    planned_s: float
    extensions: list[str] = field(default_factory=list)
    voice: Voice | None = None
    audio: Pcm | None = None
    phrases: list[tuple[str, int, int]] = field(default_factory=list)  # text, sample range
    start: int = 0


def invalid(field_name: str, description: str) -> StageInputError:
    """Build the StageInputError for one bad field."""
    return StageInputError.field(field_name, description)


def plan_lines(breakdown: Mapping[str, Any], narrate_action: bool) -> list[Line]:
    """List the lines to speak, in order, with where the breakdown planned them."""
    if not isinstance(breakdown, Mapping) or breakdown.get("schema") != BREAKDOWN_SCHEMA:
        raise invalid("breakdown", f"expected a {BREAKDOWN_SCHEMA} document")
    try:
        lines = []
        for scene in breakdown["scenes"]:
            for beat in scene["beats"]:
                narrated = narrate_action and beat["kind"] == "action"
                if not (beat.get("spoken") or narrated) or not one_line(beat["text"]):
                    continue
                speaker = NARRATOR if narrated else (beat.get("speaker") or NARRATOR)
                start = float(scene["start_s"]) + float(beat["start_s"])
                line = Line(
                    scene["index"],
                    beat["index"],
                    beat["kind"],
                    speaker,
                    one_line(beat["text"]),
                    start,
                    list(beat.get("extensions") or []),
                )
                lines.append(line)
    except (KeyError, TypeError, ValueError) as error:
        raise invalid("breakdown", f"malformed breakdown: {error!r}") from None
    return lines


def layout(lines: list[Line], scenes: list[Mapping[str, Any]], rate: int) -> list[dict[str, Any]]:
    """Place lines on the timeline, pushing later ones when a line runs long."""
    by_scene: dict[int, list[Line]] = {}
    for line in lines:
        by_scene.setdefault(line.scene, []).append(line)
    placed: list[dict[str, Any]] = []
    delay = cursor = 0.0  # seconds later than planned; end of the last line
    for scene in scenes:
        planned_start, planned_length = float(scene["start_s"]), float(scene["duration_s"])
        start = max(planned_start + delay, cursor)
        for line in by_scene.get(scene["index"], []):
            seconds = max(
                line.planned_s + (start - planned_start), cursor + LINE_GAP_S * bool(cursor)
            )
            line.start = round(seconds * rate)
            assert line.audio is not None
            cursor = (line.start + len(line.audio.samples)) / rate
        end = max(
            start + planned_length, cursor + SCENE_TAIL_S * bool(by_scene.get(scene["index"]))
        )
        delay = end - (planned_start + planned_length)
        cursor = max(cursor, end)
        placed.append({"index": scene["index"], "start_s": start, "end_s": end})
    return placed
