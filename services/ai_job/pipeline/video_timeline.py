"""The film's timeline: shots timed to the voice track, and the camera's move over each still.

A shot covers the span of its beats' spoken cues; shots with no cue share what is left of their
scene's span; every scene's first shot starts with the scene, and each shot lasts until the next
one starts, so the picture never has a hole. Shots too short to cross-fade fold into a neighbour.
The camera frames the still's `frame` rectangle (the overscanned keyframe minus its margin) and
pans across the margin or pushes in, by the shot's kind.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PAN_KINDS = frozenset({"establishing", "wide"})
PUSH_KINDS = frozenset({"close-up", "pov"})
STATIC_KINDS = frozenset({"title-card"})
MAX_ZOOM = 0.10  # a push-in ends 10% closer at most
ZOOM_PER_S = 0.02  # and moves 2% a second, so short shots barely move
PAN_SHARE = 0.6  # of the margin beside the frame, so the still's edge never shows
PAN_PER_S = 0.03  # of the view's width a second


@dataclass(frozen=True)
class Span:
    """One shot on the film's timeline, before cross-fades: from `start_s` to `end_s`."""

    id: str
    scene: int
    kind: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """Return the shot's length in seconds."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Rect:
    """A rectangle of a still, in its pixels (floats: the camera moves smoothly)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        """Return the rectangle's centre."""
        return self.x + self.w / 2, self.y + self.h / 2


@dataclass(frozen=True)
class Move:
    """The part of the still the camera shows at a clip's first and last frame."""

    start: Rect
    end: Rect

    @property
    def zooms(self) -> bool:
        """Return whether the view changes size (a push-in or pull-out), not only place."""
        return abs(self.start.w - self.end.w) > 0.5


@dataclass(frozen=True)
class Clip:
    """A shot's frames in the encoder: `frames` long, shown from frame `first` of the film."""

    first: int
    frames: int


def time_shots(
    shots: Sequence[Mapping[str, Any]], timings: Mapping[str, Any], total_s: float, min_s: float
) -> list[Span]:
    """Time breakdown `shots` to the voice `timings`; the last one runs to `total_s`."""
    cues: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for cue in timings.get("cues") or []:
        key = (int(cue["scene"]), int(cue["beat"]))
        cues.setdefault(key, []).append((float(cue["start_s"]), float(cue["end_s"])))
    scenes = {
        int(s["index"]): (float(s["start_s"]), float(s["end_s"]))
        for s in timings.get("scenes") or []
    }
    starts: list[tuple[Mapping[str, Any], float]] = []
    cursor = 0.0
    for scene, group in itertools.groupby(shots, key=lambda shot: int(shot["scene"])):
        members = list(group)
        begin, end = scenes.get(scene, (cursor, cursor))
        anchors = [_cue_span(shot, scene, cues) for shot in members]
        for shot, start in zip(members, _scene_starts(anchors, begin, end), strict=True):
            cursor = max(cursor, start)
            starts.append((shot, cursor))
    spans = [
        Span(str(shot["id"]), int(shot["scene"]), str(shot.get("kind") or "wide"), start, stop)
        for (shot, start), stop in zip(
            starts, [start for _, start in starts[1:]] + [total_s], strict=True
        )
    ]
    if spans:
        spans[0] = _replace(spans[0], start_s=0.0)
    return _fold_short(spans, min_s)


def _cue_span(
    shot: Mapping[str, Any], scene: int, cues: dict[tuple[int, int], list[tuple[float, float]]]
) -> tuple[float, float] | None:
    spans = [span for beat in shot.get("beats") or [] for span in cues.get((scene, int(beat)), [])]
    if not spans:
        return None
    return min(a for a, _ in spans), max(b for _, b in spans)


def _scene_starts(
    anchors: list[tuple[float, float] | None], begin: float, end: float
) -> list[float]:
    """Start cued shots at their first cue; spread runs of cueless shots over their gap."""
    starts: list[float] = []
    index = 0
    while index < len(anchors):
        anchor = anchors[index]
        if anchor is not None:
            starts.append(anchor[0])
            index += 1
            continue
        run_end = index
        while run_end < len(anchors) and anchors[run_end] is None:
            run_end += 1
        previous = anchors[index - 1] if index else None
        following = anchors[run_end] if run_end < len(anchors) else None
        left = previous[1] if previous is not None else begin
        right = following[0] if following is not None else end
        right = max(left, right)
        count = run_end - index
        starts.extend(left + (right - left) * n / count for n in range(count))
        index = run_end
    if starts:
        starts[0] = begin  # the scene's first shot opens it, before its first line
    return starts


def _replace(span: Span, **changes: Any) -> Span:
    fields = {**span.__dict__, **changes}
    return Span(**fields)


def _fold_short(spans: list[Span], min_s: float) -> list[Span]:
    """Give shots shorter than `min_s` to the previous shot (a short first one to the next)."""
    kept: list[Span] = []
    for span in spans:
        if not kept:
            kept.append(span)
        elif span.duration_s < min_s:
            kept[-1] = _replace(kept[-1], end_s=span.end_s)
        elif kept[-1].duration_s < min_s:  # only the first can be short here
            kept[-1] = _replace(span, start_s=kept[-1].start_s)
        else:
            kept.append(span)
    return kept


def base_view(frame: Rect, aspect: float) -> Rect:
    """Return the largest rectangle of the film's aspect centred in `frame`."""
    width, height = (frame.h * aspect, frame.h) if frame.w / frame.h > aspect else (
        frame.w, frame.w / aspect)  # fmt: skip
    cx, cy = frame.centre
    return Rect(cx - width / 2, cy - height / 2, width, height)


def plan_move(span: Span, number: int, view: Rect, image_w: int, image_h: int) -> Move:
    """Choose the camera's move for shot `number`: pan, push in, pull out or hold, by kind."""
    seconds = max(span.duration_s, 0.0)
    if span.kind in STATIC_KINDS:
        return Move(view, view)
    if span.kind in PAN_KINDS or (span.kind not in PUSH_KINDS and number % 3 == 2):
        room = min(view.x, image_w - view.x - view.w)
        reach = max(0.0, min(PAN_SHARE * room, PAN_PER_S * view.w * seconds / 2))
        left, right = _shift(view, -reach), _shift(view, reach)
        return Move(left, right) if number % 2 == 0 else Move(right, left)
    zoom = min(MAX_ZOOM, ZOOM_PER_S * seconds)
    close = _scale(view, 1 / (1 + zoom))
    pull_out = span.kind not in PUSH_KINDS and number % 2 == 1
    return Move(close, view) if pull_out else Move(view, close)


def _shift(rect: Rect, dx: float) -> Rect:
    return Rect(rect.x + dx, rect.y, rect.w, rect.h)


def _scale(rect: Rect, factor: float) -> Rect:
    cx, cy = rect.centre
    width, height = rect.w * factor, rect.h * factor
    return Rect(cx - width / 2, cy - height / 2, width, height)


def clip_frames(spans: Sequence[Span], fps: int, crossfade_s: float) -> list[Clip]:
    """Lay out each shot's frames so neighbours overlap by the cross-fade, centred on the cut.

    Frame numbers, not seconds, so rounding never drifts: a clip starts half a cross-fade
    before its shot (the first at 0) and ends half a cross-fade after it (the last at the end).
    """
    half = round(crossfade_s * fps / 2)
    cuts = [round(span.start_s * fps) for span in spans] + [round(spans[-1].end_s * fps)]
    clips = []
    for number in range(len(spans)):
        first = cuts[number] - half if number else 0
        last = cuts[number + 1] + half if number < len(spans) - 1 else cuts[-1]
        clips.append(Clip(first, last - first))
    return clips
