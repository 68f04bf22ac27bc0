"""The film's timeline: shots timed to the voice, camera moves, clips, and option checks."""

from __future__ import annotations

from typing import Any

import pytest

from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.video_options import VideoOptions
from services.ai_job.pipeline.video_timeline import (
    Rect,
    Span,
    base_view,
    clip_frames,
    plan_move,
    time_shots,
)


def _shot(shot_id: str, scene: int, beats: list[int], kind: str = "medium") -> dict[str, Any]:
    return {"id": shot_id, "scene": scene, "beats": beats, "kind": kind}


def _cue(scene: int, beat: int, start: float, end: float) -> dict[str, Any]:
    return {"scene": scene, "beat": beat, "start_s": start, "end_s": end}


TIMINGS = {
    "scenes": [
        {"index": 1, "start_s": 0.0, "end_s": 8.0},
        {"index": 2, "start_s": 8.0, "end_s": 14.0},
    ],
    "cues": [_cue(1, 2, 3.0, 5.0), _cue(1, 3, 5.5, 7.5), _cue(2, 1, 9.0, 12.0)],
}


def test_shots_follow_their_cues_and_leave_no_gap() -> None:
    shots = [
        _shot("a", 1, [1], "establishing"),
        _shot("b", 1, [2]),
        _shot("c", 1, [3]),
        _shot("d", 2, [1]),
        _shot("e", 2, [2]),
    ]
    spans = time_shots(shots, TIMINGS, 15.0, 1.0)
    assert [(s.id, s.start_s, s.end_s) for s in spans] == [
        ("a", 0.0, 3.0),  # the establishing shot holds until the first line
        ("b", 3.0, 5.5),
        ("c", 5.5, 8.0),
        ("d", 8.0, 12.0),  # a scene's first shot opens the scene, before its first line
        ("e", 12.0, 15.0),  # a cueless shot takes the rest of its scene, the last the tail
    ]


def test_cueless_shots_share_their_gap() -> None:
    shots = [_shot("a", 1, [7]), _shot("b", 1, [8]), _shot("c", 1, [2])]
    spans = time_shots(shots, TIMINGS, 8.0, 1.0)
    assert [(s.start_s, s.end_s) for s in spans] == [(0.0, 1.5), (1.5, 3.0), (3.0, 8.0)]


def test_short_shots_fold_into_a_neighbour() -> None:
    timings = {
        "scenes": [{"index": 1, "start_s": 0.0, "end_s": 6.0}],
        "cues": [_cue(1, 1, 0.2, 3.0), _cue(1, 2, 3.0, 3.3), _cue(1, 3, 3.3, 6.0)],
    }
    shots = [_shot("a", 1, [9]), _shot("b", 1, [1]), _shot("c", 1, [2]), _shot("d", 1, [3])]
    spans = time_shots(shots, timings, 6.0, 1.0)
    assert [(s.id, s.start_s, s.end_s) for s in spans] == [("b", 0.0, 3.3), ("d", 3.3, 6.0)]


def test_clips_overlap_by_the_crossfade_and_end_with_the_film() -> None:
    spans = [Span("a", 1, "wide", 0.0, 2.0), Span("b", 1, "wide", 2.0, 5.0)]
    first, second = clip_frames(spans, 30, 0.5)
    assert (first.first, first.frames) == (0, 68)  # to 2 s plus half the fade
    assert (second.first, second.frames) == (52, 98)  # from 2 s less half the fade to 5 s
    assert second.first + second.frames == 150


def test_camera_moves_stay_inside_the_still() -> None:
    frame = Rect(160, 90, 1280, 720)
    view = base_view(frame, 16 / 9)
    assert view == frame
    for number, kind in enumerate(["establishing", "close-up", "medium", "wide", "title-card"]):
        move = plan_move(Span("s", 1, kind, 0.0, 6.0), number, view, 1600, 900)
        for rect in (move.start, move.end):
            assert rect.x >= 0
            assert rect.y >= 0
            assert rect.x + rect.w <= 1600
            assert rect.y + rect.h <= 900
    assert plan_move(Span("s", 1, "close-up", 0, 6), 1, view, 1600, 900).zooms
    pan = plan_move(Span("s", 1, "establishing", 0, 6), 0, view, 1600, 900)
    assert not pan.zooms
    assert pan.start.x != pan.end.x
    still = plan_move(Span("s", 1, "title-card", 0, 6), 0, view, 1600, 900)
    assert still.start == still.end == view


def test_a_portrait_view_is_cut_from_a_landscape_frame() -> None:
    view = base_view(Rect(0, 0, 1600, 900), 9 / 16)
    assert view.h == 900
    assert view.w == pytest.approx(900 * 9 / 16)
    assert view.centre == (800, 450)


@pytest.mark.parametrize(
    ("width", "height"), [(1280, 720), (720, 1280), (1080, 1080), (1920, 1080), (160, 90)]
)
def test_youtube_frames_are_accepted(width: int, height: int) -> None:
    VideoOptions(width=width, height=height).validate()


@pytest.mark.parametrize(
    "options",
    [
        VideoOptions(width=1280, height=721),
        VideoOptions(width=1280, height=960),
        VideoOptions(width=64, height=36),
        VideoOptions(width=7680, height=4320),
        VideoOptions(fps=29),
        VideoOptions(crossfade_s=3.0),
        VideoOptions(loudness_lufs=-3.0),
        VideoOptions(crf=51),
        VideoOptions(preset="placebo"),
        VideoOptions(music_key="/etc/passwd"),
    ],
)
def test_bad_options_are_input_errors(options: VideoOptions) -> None:
    with pytest.raises(StageInputError):
        options.validate()


def test_bitrate_ceilings_follow_youtubes_anchors() -> None:
    assert VideoOptions(width=1280, height=720).max_bitrate() == 5_000_000
    assert VideoOptions(width=1920, height=1080).max_bitrate() == 8_000_000
    assert VideoOptions(width=1920, height=1080, fps=60).max_bitrate() == 12_000_000
    assert VideoOptions(width=1280, height=720, fps=30).gop() == 15
    assert VideoOptions(width=1280, height=720).preview_size() == (640, 360)
    assert VideoOptions(width=720, height=1280).preview_size() == (360, 640)
    assert VideoOptions(width=160, height=90).preview_size() == (160, 90)
