"""Subtitle rules: line breaks, event splits, timing, and the files built from voice timings."""

from __future__ import annotations

import io

import pysrt
import pytest
import webvtt

from services.ai_job.pipeline.breakdown import NARRATOR
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.stage import StageCancelled
from services.ai_job.pipeline.subtitle_rules import Event, break_lines, retime, split_text
from services.ai_job.pipeline.subtitles import SubtitleOptions, run_subtitles, timestamp
from tests.support.netflix_subtitles import Cue, violations


def test_text_that_fits_one_line_stays_on_one_line() -> None:
    assert break_lines("Are they cold?") == ["Are they cold?"]


def test_lines_break_after_punctuation_when_a_break_there_fits() -> None:
    assert break_lines("I saw him yesterday, standing by the old harbour wall") == [
        "I saw him yesterday,",
        "standing by the old harbour wall",
    ]


def test_lines_break_before_a_conjunction_when_no_punctuation_fits() -> None:
    assert break_lines("He wanted to go home early but the storm kept him at work") == [
        "He wanted to go home early",
        "but the storm kept him at work",
    ]


def test_lines_break_before_a_preposition_when_nothing_better_fits() -> None:
    assert break_lines("No, everybody we have ever put away in thirty years!") == [
        "No, everybody we have ever put away",
        "in thirty years!",
    ]


def test_lines_never_break_between_an_article_and_its_noun() -> None:
    for text in (
        "They spent the whole night watching the harbour lights go out",
        "Put down a gun on the table in front of a witness right now",
    ):
        lines = break_lines(text)
        assert lines is not None
        assert lines[0].rsplit(" ", 1)[-1].lower() not in {"a", "an", "the"}, lines


def test_text_too_long_for_two_lines_has_no_layout() -> None:
    assert break_lines("word " * 30) is None


def test_long_text_splits_into_events_that_each_fit_two_lines() -> None:
    text = (
        "Everyone's coming after you mate, Scorpio, The Boy Band, Sparrow, Point Blank "
        "Sniper, the Mad Bomber and every single one of the people we ever put away"
    )
    pieces = split_text(text)
    assert len(pieces) >= 2
    assert " ".join(pieces) == text
    for piece in pieces:
        assert len(piece) <= 84
        assert break_lines(piece) is not None


def test_a_word_longer_than_a_line_is_cut() -> None:
    pieces = split_text("x" * 100)
    assert all(len(piece) <= 42 for piece in pieces)
    assert "".join(pieces) == "x" * 100


def test_retime_stretches_short_events_to_reading_time_and_keeps_two_frames_apart() -> None:
    events = [
        Event(1000, 1300, ["Hi."], 1, "A"),
        Event(1500, 1900, ["What is it you want with me, DICK?"], 2, "B"),
        Event(9000, 17000, ["Fine."], 3, "A"),
    ]
    retime(events, gap_ms=84)
    first, second, third = events
    assert first.duration_ms >= 834
    assert second.start_ms - first.end_ms >= 84
    assert second.duration_ms * 20 >= 34 * 1000  # 20 characters per second at most
    assert third.duration_ms == 7000


def test_timestamps_use_a_comma_for_srt_and_a_dot_for_webvtt() -> None:
    assert timestamp(3_723_004, ",") == "01:02:03,004"
    assert timestamp(59_999, ".") == "00:00:59.999"


def _timings(*cues: tuple[str, str, float, float, list[tuple[str, float, float]]]) -> dict:
    return {
        "schema": "filmstudio.voice_timings.v1",
        "cues": [
            {"index": n, "speaker": speaker, "kind": "dialogue", "text": text, "start_s": start,
             "end_s": end, "extensions": [],
             "segments": [{"text": t, "start_s": a, "end_s": b} for t, a, b in segments]}
            for n, (speaker, text, start, end, segments) in enumerate(cues, start=1)
        ],
    }  # fmt: skip


DENSE = _timings(
    ("STEEL", "Beer's ready!", 1.0, 1.6, [("Beer's ready!", 1.0, 1.6)]),
    ("BRICK", "Are they cold?", 1.85, 2.4, [("Are they cold?", 1.85, 2.4)]),
    (
        "COGNITO",
        "Everyone's coming after you mate! Scorpio, The Boy Band, Sparrow, Point Blank "
        "Sniper, the Mad Bomber, the Twins and every last one of the people you put away.",
        2.7,
        12.5,
        [
            ("Everyone's coming after you mate!", 2.7, 4.4),
            (
                "Scorpio, The Boy Band, Sparrow, Point Blank Sniper, the Mad Bomber, the Twins "
                "and every last one of the people you put away.",
                4.55,
                12.5,
            ),
        ],
    ),
    (NARRATOR, "And then it was over.", 12.8, 14.0, [("And then it was over.", 12.8, 14.0)]),
)


def test_dense_dialogue_yields_srt_and_webvtt_that_parse_and_obey_every_rule(
    memory_storage,
) -> None:
    result = run_subtitles(DENSE, storage=memory_storage, key_prefix="jobs/j1")
    srt = memory_storage.get_bytes(result.artifacts["srt"]).decode()
    vtt = memory_storage.get_bytes(result.artifacts["vtt"]).decode()
    srt_cues = [Cue(i.start.ordinal, i.end.ordinal, i.text) for i in pysrt.from_string(srt)]
    vtt_cues = [
        Cue(c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), c.raw_text)
        for c in webvtt.from_buffer(io.StringIO(vtt))
    ]
    assert len(srt_cues) == len(vtt_cues) == len(result.events) >= 5
    assert violations(srt_cues) == []
    assert violations(vtt_cues) == []
    spoken = " ".join(seg["text"] for cue in DENSE["cues"] for seg in cue["segments"])
    assert " ".join(" ".join(c.lines) for c in srt_cues).replace("<i>", "") == spoken
    assert srt_cues[-1].text.startswith("<i>")  # the narrator speaks in italics


def test_events_split_from_one_phrase_stay_inside_that_phrase(memory_storage) -> None:
    result = run_subtitles(DENSE, storage=memory_storage, key_prefix="jobs/j1")
    long_phrase = [e for e in result.events if e.cue == 3][1:]
    assert len(long_phrase) >= 2
    assert long_phrase[0].speech_ms[0] == 4550
    assert long_phrase[-1].speech_ms[1] == 12500


def test_children_reading_speed_is_selectable(memory_storage) -> None:
    result = run_subtitles(DENSE, storage=memory_storage, key_prefix="jobs/j1",
                           options=SubtitleOptions(max_cps=17))  # fmt: skip
    cues = [Cue(e.start_ms, e.end_ms, "\n".join(e.lines)) for e in result.events]
    assert violations(cues, cps=17) == []


def test_text_with_markup_characters_is_escaped(memory_storage) -> None:
    timings = _timings(("A", "a <b> & c --> d", 1.0, 3.0, [("a <b> & c --> d", 1.0, 3.0)]))
    result = run_subtitles(timings, storage=memory_storage, key_prefix="jobs/j1")
    vtt = memory_storage.get_bytes(result.artifacts["vtt"]).decode()
    assert "a &lt;b&gt; &amp; c --&gt; d" in vtt


@pytest.mark.parametrize(
    "timings",
    [
        {},
        {"schema": "other"},
        {"schema": "filmstudio.voice_timings.v1", "cues": [{"x": 1}]},
        _timings(("A", "Backwards.", 3.0, 1.0, [("Backwards.", 3.0, 1.0)])),
        _timings(("A", "Forever.", 1.0, float("inf"), [("Forever.", 1.0, float("inf"))])),
    ],
    ids=["empty", "other-schema", "no-fields", "backwards", "infinite"],
)
def test_malformed_timings_are_invalid_argument(memory_storage, timings: dict) -> None:
    with pytest.raises(StageInputError):
        run_subtitles(timings, storage=memory_storage, key_prefix="jobs/j1")
    assert memory_storage.objects == {}


def test_progress_is_per_cue_and_cancellation_stores_nothing(memory_storage) -> None:
    reports: list[float] = []
    run_subtitles(DENSE, storage=memory_storage, key_prefix="jobs/j1",
                  progress=lambda f, m: reports.append(f))  # fmt: skip
    assert reports == sorted(reports)
    assert len(reports) == len(DENSE["cues"]) + 1
    memory_storage.objects.clear()
    with pytest.raises(StageCancelled):
        run_subtitles(DENSE, storage=memory_storage, key_prefix="jobs/j1",
                      progress=lambda f, m: reports.append(f),
                      cancelled=lambda: len(reports) > 6)  # fmt: skip
    assert memory_storage.objects == {}
