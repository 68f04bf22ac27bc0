"""Stage 3, subtitles: the voice timings in; SRT, WebVTT and an events JSON out.

Events follow the speech: each spoken phrase the voice stage timed becomes an event, split
further only where a phrase is too long for two lines or seven seconds, in proportion to its
characters. Phrases of one line that fit together are shown together.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from services.ai_job.pipeline.breakdown import NARRATOR
from services.ai_job.pipeline.ports import ArtifactStore, InputViolation, StageInputError
from services.ai_job.pipeline.stage import (
    CancelCheck,
    Progress,
    ProgressCallback,
    never_cancelled,
    no_progress,
    put_json,
    stage_key,
)
from services.ai_job.pipeline.subtitle_rules import (
    MAX_CPS,
    MAX_DURATION_MS,
    Event,
    break_lines,
    min_gap_ms,
    retime,
    split_text,
)

log = logging.getLogger(__name__)

EVENTS_SCHEMA = "filmstudio.subtitles.v1"
_OFF_SCREEN = frozenset({"V.O.", "O.S.", "O.C.", "V.O", "O.S", "VO", "OS"})


@dataclass(frozen=True)
class SubtitleOptions:
    """The frame rate gaps are counted in, and the reading speed (17 cps for children)."""

    frame_rate: float = 24.0
    max_cps: float = MAX_CPS

    def validate(self) -> None:
        """Raise StageInputError for values outside what players and viewers handle."""
        bad = []
        if not 10.0 <= self.frame_rate <= 120.0:
            bad.append(InputViolation("frame_rate", "must be 10 to 120 frames per second"))
        if not 10.0 <= self.max_cps <= 30.0:
            bad.append(InputViolation("max_cps", "must be 10 to 30 characters per second"))
        if bad:
            raise StageInputError(bad)


@dataclass(frozen=True)
class SubtitleResult:
    """The events and the keys of the SRT, WebVTT and JSON artifacts."""

    events: list[Event]
    artifacts: dict[str, str]


def _segments(cue: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    found = []
    for segment in cue.get("segments") or [cue]:
        start, end = round(float(segment["start_s"]) * 1000), round(float(segment["end_s"]) * 1000)
        if not 0 <= start <= end:
            raise ValueError(f"cue {cue.get('index')} ends before it starts")
        if str(segment["text"]).strip():
            found.append((" ".join(str(segment["text"]).split()), start, end))
    return found


def _grouped(segments: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Join neighbouring phrases of one line while they still fit one event."""
    groups: list[tuple[str, int, int]] = []
    for text, start, end in segments:
        if groups:
            joined = f"{groups[-1][0]} {text}"
            if len(split_text(joined)) == 1 and end - groups[-1][1] <= MAX_DURATION_MS:
                groups[-1] = (joined, groups[-1][1], end)
                continue
        groups.append((text, start, end))
    return groups


def _pieces(text: str, start: int, end: int, gap: int) -> list[tuple[str, int, int]]:
    """Split one phrase into events, timed in proportion to their characters."""
    chunks = split_text(text)
    while True:
        total = sum(len(chunk) + 1 for chunk in chunks)
        spans, clock = [], float(start)
        for chunk in chunks:
            length = (end - start) * (len(chunk) + 1) / total
            spans.append((chunk, round(clock), round(clock + length)))
            clock += length
        too_long = [i for i, (_, a, b) in enumerate(spans) if b - a > MAX_DURATION_MS]
        if not too_long:
            break
        index = too_long[0]
        halves = split_text(chunks[index], fits=max(1, len(chunks[index]) - 1))
        chunks[index : index + 1] = halves
    # Leave the minimum gap between pieces of one phrase.
    return [(c, a, b - gap if i < len(spans) - 1 else b) for i, (c, a, b) in enumerate(spans)]


def build_events(
    timings: Mapping[str, Any], options: SubtitleOptions, tracker: Progress
) -> list[Event]:
    """Turn the timed cues into events that obey every rule."""
    gap = min_gap_ms(options.frame_rate)
    events: list[Event] = []
    cues = sorted(timings["cues"], key=lambda cue: float(cue["start_s"]))
    for number, cue in enumerate(cues, start=1):
        extensions = {str(e).upper() for e in cue.get("extensions") or []}
        italic = cue.get("speaker") == NARRATOR or cue.get("kind") == "lyrics"
        italic = italic or bool(extensions & _OFF_SCREEN)
        for text, start, end in _grouped(_segments(cue)):
            for piece, a, b in _pieces(text, start, end, gap):
                lines = break_lines(piece) or [piece]
                events.append(
                    Event(a, b, lines, int(cue["index"]), str(cue.get("speaker")), italic, (a, b))
                )
        tracker.step(number, len(cues), 0.05, 0.8, f"cue {number} of {len(cues)}")
    return retime(events, gap, options.max_cps)


def timestamp(ms: int, separator: str) -> str:
    """Format milliseconds as HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (WebVTT)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _text(event: Event) -> str:
    lines = [_escape(line) for line in event.lines]
    return "\n".join(f"<i>{line}</i>" for line in lines) if event.italic else "\n".join(lines)


def _escape(line: str) -> str:
    # Both formats read "<" as a tag and WebVTT reads "-->" as timing.
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(events: list[Event]) -> str:
    """Render SubRip."""
    blocks = [
        f"{n}\n{timestamp(e.start_ms, ',')} --> {timestamp(e.end_ms, ',')}\n{_text(e)}\n"
        for n, e in enumerate(events, start=1)
    ]
    return "\n".join(blocks)


def to_webvtt(events: list[Event]) -> str:
    """Render WebVTT."""
    blocks = [
        f"{n}\n{timestamp(e.start_ms, '.')} --> {timestamp(e.end_ms, '.')}\n{_text(e)}\n"
        for n, e in enumerate(events, start=1)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def run_subtitles(
    timings: Mapping[str, Any],
    *,
    storage: ArtifactStore,
    key_prefix: str,
    options: SubtitleOptions = SubtitleOptions(),
    progress: ProgressCallback = no_progress,
    cancelled: CancelCheck = never_cancelled,
) -> SubtitleResult:
    """Write `<prefix>/subtitles/subtitles.srt`, `.vtt` and `events.json` from voice timings."""
    tracker = Progress("subtitle_generation", progress, cancelled)
    tracker.checkpoint()
    options.validate()
    if not isinstance(timings, Mapping) or timings.get("schema") != "filmstudio.voice_timings.v1":
        raise StageInputError.field("timings", "expected a filmstudio.voice_timings.v1 document")
    try:
        events = build_events(timings, options, tracker)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise StageInputError.field("timings", f"malformed timings: {error!r}") from None
    tracker.checkpoint()
    keys = {
        "srt": stage_key(key_prefix, "subtitles", "subtitles.srt"),
        "vtt": stage_key(key_prefix, "subtitles", "subtitles.vtt"),
        "events": stage_key(key_prefix, "subtitles", "events.json"),
    }
    storage.put_bytes(keys["srt"], to_srt(events).encode(), content_type="application/x-subrip")
    storage.put_bytes(keys["vtt"], to_webvtt(events).encode(), content_type="text/vtt")
    put_json(
        storage,
        keys["events"],
        {
            "schema": EVENTS_SCHEMA,
            "frame_rate": options.frame_rate,
            "max_cps": options.max_cps,
            "events": [{**asdict(event), "speech_ms": list(event.speech_ms)} for event in events],
        },
    )
    tracker.report(1.0, f"{len(events)} subtitle events stored")
    log.info("subtitles: %d events", len(events))
    return SubtitleResult(events, keys)
