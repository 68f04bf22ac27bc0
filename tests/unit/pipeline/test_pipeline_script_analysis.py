"""Script analysis: the breakdown of the corpus sample, prose mode, fitting, shots, bad input."""

from __future__ import annotations

import itertools
import json
import random
import re
import time
from typing import Any

import pytest

from services.ai_job.pipeline.breakdown import NARRATOR, estimate, scenes_from_screenplay
from services.ai_job.pipeline.fountain import parse_fountain
from services.ai_job.pipeline.images import ImageOptions, shot_specs
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.script_analysis import (
    MAX_SCRIPT_BYTES,
    AnalysisOptions,
    analyse_script,
    run_script_analysis,
)
from services.ai_job.pipeline.script_elements import beat_of
from services.ai_job.pipeline.stage import StageCancelled


def test_corpus_breaks_down_into_eight_scenes_with_int_ext_location_and_time(
    corpus_text: str,
) -> None:
    scenes = analyse_script(corpus_text)["scenes"]
    assert [(s["int_ext"], s["location"], s["time_of_day"]) for s in scenes] == [
        ("EXT", "BRICK'S PATIO", "DAY"),
        ("INT", "TRAILER HOME", "DAY"),
        ("EXT", "BRICK'S POOL", "DAY"),
        (None, "SNIPER SCOPE POV", None),
        (None, "OPENING TITLES", None),
        ("EXT", "WOODEN SHACK", "DAY"),
        ("INT", "GARAGE", "DAY"),
        ("EXT", "PALATIAL MANSION", "DAY"),
    ]
    assert [s["transition_out"] for s in scenes][:2] == ["SMASH CUT TO:", "CUT TO:"]
    assert scenes[3]["lighting"] == "DAY"  # a forced heading inherits the light


def test_sections_synopses_notes_pages_and_scene_numbers_reach_their_scenes() -> None:
    script = (
        "Cold open, before any heading.\n\n"
        "# Act One\n\n## The Lab\n\n"
        "INT. LAB - LATER #12#\n\n= Anna proves it.\n\n[[check the props]]\n\n"
        "Sparks.\n\n===\n\n"
        "EXT. HOLIDAY CAMP - DUSK\n\nTents."
    )
    cold, lab, camp = analyse_script(script)["scenes"]
    assert (cold["heading"], cold["beats"][0]["text"]) == (None, "Cold open, before any heading.")
    assert lab["section_path"] == ["Act One", "The Lab"]
    assert (lab["scene_number"], lab["time_of_day"], lab["lighting"]) == ("12", "LATER", None)
    assert (lab["synopses"], lab["notes"]) == (["Anna proves it."], ["check the props"])
    assert (lab["page"], camp["page"]) == (1, 2)
    assert (camp["location"], camp["time_of_day"], camp["lighting"]) == (
        "HOLIDAY CAMP",
        "DUSK",
        "DUSK",
    )


def test_corpus_has_seven_speaking_characters_with_their_lines(corpus_text: str) -> None:
    breakdown = analyse_script(corpus_text)
    characters = {c["name"]: c for c in breakdown["characters"]}
    assert list(characters) == [
        "STEEL",
        "BRICK",
        "JACK",
        "DAN",
        "COGNITO",
        "MINION",
        "HANDSOME MAN",
    ]
    assert characters["STEEL"]["line_count"] == 11
    assert characters["BRICK"]["scenes"] == [1, 7]
    first_line = beat_of(breakdown, characters["HANDSOME MAN"]["lines"][0])
    assert first_line["text"] == "I want them dead.  DEAD!"
    assert beat_of(breakdown, characters["JACK"]["lines"][0])["parenthetical"] == (
        "in Vietnamese, subtitled"
    )
    assert characters["BRICK"]["description"] == "retired police detective"
    assert breakdown["stats"]["dialogue_lines"] == 22


def test_corpus_dual_dialogue_pair_is_marked_on_both_lines(corpus_text: str) -> None:
    breakdown = analyse_script(corpus_text)
    assert breakdown["dual_dialogue"] == [
        {"scene": 1, "speakers": [{"character": "STEEL", "beats": [12]},
                                  {"character": "BRICK", "beats": [13]}]}
    ]  # fmt: skip
    lines = [beat_of(breakdown, line) for c in breakdown["characters"] for line in c["lines"]]
    dual = [line["text"] for line in lines if "dual_pair" in line]
    assert dual == ["Screw retirement.", "Screw retirement."]


def test_scene_durations_come_from_words_per_minute_without_a_target(corpus_text: str) -> None:
    slow = analyse_script(corpus_text, AnalysisOptions(words_per_minute=100))
    fast = analyse_script(corpus_text, AnalysisOptions(words_per_minute=200))
    assert slow["timing"]["duration_s"] > fast["timing"]["duration_s"]
    for scene in fast["scenes"]:
        assert scene["duration_s"] == pytest.approx(scene["natural_s"], abs=0.002)
    scenes = scenes_from_screenplay(parse_fountain(corpus_text))
    estimate(scenes, 200)  # the plan's working, which the breakdown does not store
    spoken = [beat for scene in scenes for beat in scene.beats if beat.spoken]
    assert spoken
    for beat in spoken:  # 200 words per minute is 0.3 s a word, 0.8 s at least
        assert beat.speech_s == pytest.approx(max(0.8, beat.words * 0.3), abs=0.002)


@pytest.mark.parametrize("target", [90.0, 120.0, 240.0])
def test_scenes_are_fitted_to_the_target_duration_exactly(corpus_text: str, target: float) -> None:
    breakdown = analyse_script(corpus_text, AnalysisOptions(target_duration_s=target))
    scenes = breakdown["scenes"]
    assert sum(s["duration_s"] for s in scenes) == pytest.approx(target, abs=0.01)
    assert breakdown["timing"]["speech_scale"] == 1.0  # holds absorb the difference
    for previous, scene in itertools.pairwise(scenes):
        assert scene["start_s"] == pytest.approx(
            previous["start_s"] + previous["duration_s"], abs=0.002
        )


def test_a_target_shorter_than_the_dialogue_compresses_speech_and_says_so(corpus_text: str) -> None:
    breakdown = analyse_script(corpus_text, AnalysisOptions(target_duration_s=20))
    assert breakdown["timing"]["duration_s"] == pytest.approx(20, abs=0.01)
    assert breakdown["timing"]["speech_scale"] < 1.0
    assert "faster" in breakdown["timing"]["warnings"][0]


def _prompts(breakdown: dict[str, Any]) -> dict[str, str]:
    """The prompt the image stage composes for each shot (the breakdown stores none)."""
    return {spec.id: spec.prompt for spec in shot_specs(breakdown, ImageOptions())}


def test_shot_list_covers_every_scene_with_prompts_from_scene_and_style(corpus_text: str) -> None:
    breakdown = analyse_script(corpus_text, AnalysisOptions(style="noir", target_duration_s=90))
    shots = {shot["id"]: shot for shot in breakdown["shots"]}
    for scene in breakdown["scenes"]:
        mine = [shot for shot in shots.values() if shot["scene"] == scene["index"]]
        assert mine, scene["id"]
        assert sum(s["duration_s"] for s in mine) == pytest.approx(scene["duration_s"], abs=0.01)
        assert mine[0]["start_s"] == pytest.approx(scene["start_s"], abs=0.002)
    prompts = _prompts(breakdown)
    for prompt in prompts.values():
        assert prompt.startswith("film noir still")
        assert len(prompt) <= 420
    assert shots["scene-001-shot-01"]["kind"] == "establishing"
    assert "Exterior, Brick's Patio, bright daylight" in prompts["scene-001-shot-01"]
    assert shots["scene-004-shot-01"]["kind"] == "pov"
    assert "Title card" in prompts["scene-005-shot-01"]


def test_a_free_form_style_is_used_verbatim_in_prompts(corpus_text: str) -> None:
    breakdown = analyse_script(corpus_text, AnalysisOptions(style="claymation, pastel"))
    prompt = _prompts(breakdown)[breakdown["shots"][0]["id"]]
    assert prompt.startswith("claymation, pastel, film still")


def test_a_shot_with_its_own_prompt_keeps_it(corpus_text: str) -> None:
    breakdown = analyse_script(corpus_text)
    breakdown["shots"][0]["image_prompt"] = "a pencil sketch of a pool"
    assert _prompts(breakdown)[breakdown["shots"][0]["id"]] == "a pencil sketch of a pool"


def test_prose_paragraphs_become_narrated_scenes_sentence_by_sentence() -> None:
    story = (
        "The city slept under a thin rain. Dr. Vega walked home alone.\n\n"
        "By morning the river had risen. Nobody noticed the boat."
    )
    breakdown = analyse_script(story)
    assert breakdown["mode"] == "prose"
    first, second = breakdown["scenes"]
    assert [b["text"] for b in first["beats"]] == [
        "The city slept under a thin rain.",
        "Dr. Vega walked home alone.",
    ]
    assert {b["speaker"] for b in first["beats"]} == {NARRATOR}
    assert second["time_of_day"] == "MORNING"
    assert breakdown["characters"] == []


def test_mode_can_be_forced_either_way(corpus_text: str) -> None:
    assert (
        analyse_script("INT. HOUSE - DAY\n\nHi.", AnalysisOptions(mode="prose"))["mode"] == "prose"
    )
    forced = analyse_script("A quiet day.", AnalysisOptions(mode="fountain"))
    assert forced["mode"] == "fountain"
    assert forced["scenes"][0]["beats"][0]["kind"] == "action"


def _random_bytes(size: int) -> bytes:
    return random.Random(7).randbytes(size)  # noqa: S311 - a seeded, repeatable fixture


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (b"INT. LAB\x00\x01\x02 - DAY", "binary"),
        (b"\xff\xfe\xfa caf\xe9", "UTF-8"),
        ("INT. LAB - DAY\n\nHi \ud800 there.", "Unicode"),
        (_random_bytes(4096), "binary|UTF-8"),
        (b"", "empty"),
        ("   \n\n\t  ", "empty"),
        ("INT. HOUSE\x07\x08\x1b\x1b\x1b\x1b - DAY", "control"),
        ("%$#@!*&^%$#@!*&^%$ 12345 67890 ;;; ::: ???", "words"),
        (_random_bytes(3000).hex().encode(), "words"),
        ("Title: Nothing\nAuthor: Nobody\n", "no action, dialogue or narration"),
        ("x" * (MAX_SCRIPT_BYTES + 1), "limit"),
        (b"a" * (MAX_SCRIPT_BYTES + 1), "limit"),
    ],
    ids=["nul", "latin-1", "surrogate", "random", "empty", "blank", "controls", "symbols",
         "hex-blob", "title-only", "oversized-text", "oversized-bytes"],
)  # fmt: skip
def test_garbage_binary_or_oversized_script_is_invalid_argument(
    memory_storage, script: str | bytes, expected: str
) -> None:
    with pytest.raises(StageInputError) as raised:
        run_script_analysis(script, storage=memory_storage, key_prefix="jobs/j1")
    assert raised.value.violations[0].field == "script"
    assert re.search(expected, raised.value.violations[0].description)
    assert memory_storage.objects == {}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (AnalysisOptions(mode="poem"), "mode"),
        (AnalysisOptions(style="<script>alert(1)</script>"), "style"),
        (AnalysisOptions(target_duration_s=0), "target_duration"),
        (AnalysisOptions(words_per_minute=5), "words_per_minute"),
    ],
)
def test_bad_options_name_the_field(memory_storage, options: AnalysisOptions, field: str) -> None:
    with pytest.raises(StageInputError) as raised:
        run_script_analysis(
            "Hello there.", storage=memory_storage, key_prefix="jobs/j1", options=options
        )
    assert [v.field for v in raised.value.violations] == [field]


def test_stage_stores_the_breakdown_and_the_source_by_content(memory_storage, corpus_text) -> None:
    result = run_script_analysis(corpus_text.encode(), storage=memory_storage, key_prefix="jobs/j1")
    assert result.artifacts["breakdown"] == "jobs/j1/script/breakdown.json"
    stored = json.loads(memory_storage.get_bytes(result.artifacts["breakdown"]))
    assert stored == result.breakdown
    source = result.artifacts["source"]
    assert (
        source == f"sha256/{stored['source']['sha256'][:2]}/{stored['source']['sha256']}.fountain"
    )
    assert memory_storage.get_bytes(source).decode() == corpus_text


def test_progress_rises_scene_by_scene_to_one(memory_storage, corpus_text: str) -> None:
    reports: list[tuple[float, str]] = []
    run_script_analysis(corpus_text, storage=memory_storage, key_prefix="jobs/j1",
                        progress=lambda f, m: reports.append((f, m)))  # fmt: skip
    fractions = [fraction for fraction, _ in reports]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert [m for _, m in reports if m.startswith("scene")] == [
        f"scene {n} of 8" for n in range(1, 9)
    ]
    assert max(b - a for a, b in itertools.pairwise(fractions)) < 0.2


@pytest.mark.parametrize("after_reports", [0, 1, 4])
def test_cancellation_stops_at_a_checkpoint_and_stores_nothing(
    memory_storage, corpus_text: str, after_reports: int
) -> None:
    reports: list[float] = []
    with pytest.raises(StageCancelled):
        run_script_analysis(corpus_text, storage=memory_storage, key_prefix="jobs/j1",
                            progress=lambda f, m: reports.append(f),
                            cancelled=lambda: len(reports) >= after_reports)  # fmt: skip
    assert memory_storage.objects == {}
    assert len(reports) <= after_reports + 1


def test_key_prefix_cannot_escape_the_job(memory_storage) -> None:
    with pytest.raises(StageInputError):
        run_script_analysis("Hello.", storage=memory_storage, key_prefix="../jobs")


@pytest.mark.parametrize(
    "script",
    [
        "*a " * 80_000,
        "_a_b " * 50_000,
        "[[ note that never closes " * 9_000,
        "/* boneyard that never closes " * 8_000,
        "BOB SAYS " * 30_000 + ", a man, then.",
        "word word\n" * 25_000,
        "\nBOB\nHi there.\n" * 5_000,
        "Title:\n" + "\tA very long title page line\n" * 20_000 + "\nThe end.",
    ],
    ids=[
        "stars",
        "underscores",
        "notes",
        "boneyard",
        "shouting",
        "long-paragraph",
        "cues",
        "title-page",
    ],
)
def test_pathological_scripts_take_time_linear_in_their_size(script: str) -> None:
    # Each is a few hundred KB; anything quadratic would take minutes, not a second.
    started = time.perf_counter()
    breakdown = analyse_script(script)
    assert time.perf_counter() - started < 8
    assert breakdown["stats"]["scenes"] >= 1
