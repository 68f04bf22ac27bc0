"""Voice casting and the voice timeline, without running an engine."""

from __future__ import annotations

from array import array

import pytest

from services.ai_job.pipeline.audio import Pcm
from services.ai_job.pipeline.breakdown import NARRATOR
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.script_analysis import analyse_script
from services.ai_job.pipeline.voice import run_voice_synthesis
from services.ai_job.pipeline.voice_casting import cast_voices, guess_gender
from services.ai_job.pipeline.voice_engines import (
    CommandEngine,
    EspeakEngine,
    PiperEngine,
    Voice,
    choose_engine,
    speakable,
)
from services.ai_job.pipeline.voice_timeline import LINE_GAP_S, layout, plan_lines

CAST = ["STEEL", "BRICK", "JACK", "DAN", "COGNITO", "MINION", "HANDSOME MAN"]
PALETTE = EspeakEngine().palette()


def test_every_character_gets_a_distinct_voice_and_no_narrator_voice() -> None:
    cast = cast_voices(CAST, PALETTE, {})
    assert len({voice.id for voice in cast.values()}) == len(CAST)
    narrators = {voice.id for voice in EspeakEngine().narrators().values()}
    assert not narrators & {voice.id for voice in cast.values()}


def test_casting_depends_on_names_not_on_order_of_appearance() -> None:
    assert cast_voices(CAST, PALETTE, {}) == cast_voices(list(reversed(CAST)), PALETTE, {})


def test_a_character_keeps_the_same_voice_across_runs_and_casts() -> None:
    # Pinned: a release that changed this would re-voice every existing project.
    assert cast_voices(["STEEL"], PALETTE, {})["STEEL"].id == "espeak-ng:en-gb+f5:p66:r1"
    assert cast_voices(CAST, PALETTE, {})["STEEL"].id == "espeak-ng:en-gb+f5:p66:r1"


def test_gender_from_the_name_or_from_options_picks_a_matching_voice() -> None:
    assert guess_gender("HANDSOME MAN") == "male"
    assert guess_gender("MRS. ROBINSON") == "female"
    assert guess_gender("STEEL") is None
    cast = cast_voices(["HANDSOME MAN", "OLD WOMAN", "STEEL"], PALETTE, {}, {"STEEL": "female"})
    assert [cast[n].gender for n in ("HANDSOME MAN", "OLD WOMAN", "STEEL")] == [
        "male",
        "female",
        "female",
    ]


def test_chosen_voices_are_kept_and_not_given_to_anyone_else() -> None:
    chosen = cast_voices(CAST, PALETTE, {})["STEEL"]
    cast = cast_voices(CAST, PALETTE, {"BRICK": chosen})
    assert cast["BRICK"] == chosen
    assert cast["STEEL"] != chosen


def test_more_characters_than_voices_share_rather_than_fail() -> None:
    names = [f"EXTRA {n}" for n in range(len(PALETTE) + 3)]
    assert len(cast_voices(names, PALETTE, {})) == len(names)


def test_command_engine_reserves_narrator_voices_and_validates_choices() -> None:
    engine = CommandEngine.from_config("piper --model m.onnx --output_file {output}", "0,1,2,3")
    assert [v.name for v in engine.palette()] == ["2", "3"]
    assert engine.narrators()["female_narrator"].name == "1"
    assert engine.voice("3:p40") == Voice("command", "3", 40)
    with pytest.raises(StageInputError):
        engine.voice("9")
    with pytest.raises(ValueError, match="output"):
        CommandEngine(["piper"], ["0"])


def test_piper_casts_joe_for_men_and_espeak_ng_for_women_all_distinct_and_pinned() -> None:
    engine = PiperEngine()
    palette = engine.palette()
    assert len({voice.id for voice in palette}) == len(palette) == 14
    assert {v.engine for v in palette if v.gender == "male"} == {"piper"}
    assert {v.engine for v in palette if v.gender == "female"} == {"espeak-ng"}
    narrators = {voice.id for voice in engine.narrators().values()}
    assert narrators == {"piper:joe:p50:r1", "espeak-ng:en-us+f3:p54:r0.95"}
    cast = cast_voices(CAST, palette, {})
    assert len({voice.id for voice in cast.values()}) == len(CAST)
    assert not narrators & {voice.id for voice in cast.values()}
    # Pinned: the same script must keep its voices from release to release.
    assert cast["HANDSOME MAN"].id == "piper:joe:p57:r1.05"
    assert cast_voices(["BRICK"], palette, {})["BRICK"].id == cast["BRICK"].id


def test_piper_accepts_joe_with_pitch_and_pace_or_any_espeak_ng_voice() -> None:
    engine = PiperEngine()
    assert engine.voice("joe:p40:r1.1") == Voice("piper", "joe", 40, 1.1)
    assert engine.voice("en-gb+f3:p60").id == "espeak-ng:en-gb+f3:p60:r1"
    with pytest.raises(StageInputError):
        engine.voice("jane")


def test_a_job_picks_its_engine_else_the_configured_one() -> None:
    assert choose_engine("").name == "piper"
    assert choose_engine("", "espeak-ng").name == "espeak-ng"
    assert choose_engine(" Espeak-NG ", "piper").name == "espeak-ng"
    assert choose_engine("command", "piper", "tts {output}", "a,b").name == "command"
    for bad in ("festival", "command"):
        with pytest.raises(StageInputError) as raised:
            choose_engine(bad)
        assert raised.value.violations[0].field == "voice_engine"


def test_gender_is_read_from_a_description_as_well_as_a_name() -> None:
    assert guess_gender("MARY a young woman") == "female"
    assert guess_gender("TOM, a brother,") == "male"
    assert guess_gender("SAM a man and her dog") is None


def test_text_for_an_engine_loses_phoneme_brackets_and_control_codes() -> None:
    assert speakable("Hello [[h@l'oU]]\x07 there\n") == "Hello h@l'oU there"


def test_plan_lists_spoken_lines_and_optionally_the_action() -> None:
    breakdown = analyse_script("INT. LAB - DAY\n\nSparks fly.\n\nANNA\nIt works!\n")
    assert [(line.speaker, line.text) for line in plan_lines(breakdown, False)] == [
        ("ANNA", "It works!")
    ]
    narrated = plan_lines(breakdown, True)
    assert [(line.speaker, line.kind) for line in narrated] == [
        (NARRATOR, "action"),
        ("ANNA", "dialogue"),
    ]


def test_plan_rejects_a_document_that_is_not_a_breakdown() -> None:
    with pytest.raises(StageInputError):
        plan_lines({"schema": "filmstudio.breakdown.v2", "scenes": [{"beats": 3}]}, False)
    with pytest.raises(StageInputError):
        plan_lines({"scenes": []}, False)


def test_layout_keeps_planned_starts_and_pushes_what_follows_a_long_line() -> None:
    script = "INT. LAB - DAY\n\nANNA\nOne.\n\nBEN\nTwo.\n\nINT. HALL - DAY\n\nANNA\nThree.\n"
    breakdown = analyse_script(script)
    lines = plan_lines(breakdown, False)
    rate = 1000
    lengths = [0.5, 20.0, 0.5]  # the second line runs far longer than planned
    for line, seconds in zip(lines, lengths, strict=True):
        line.audio = Pcm(array("h", bytes(2 * round(seconds * rate))), rate)
    scenes = layout(lines, breakdown["scenes"], rate)
    first, second, third = (line.start / rate for line in lines)
    assert first == pytest.approx(lines[0].planned_s, abs=0.001)
    assert second >= first + 0.5 + LINE_GAP_S - 0.001
    assert third >= second + 20.0
    assert scenes[1]["start_s"] >= second + 20.0
    assert scenes[0]["end_s"] == scenes[1]["start_s"]


def test_a_breakdown_too_long_for_one_voice_job_is_invalid_argument(memory_storage) -> None:
    long_film = analyse_script("INT. LAB - DAY\n\nANNA\nHello.\n")
    long_film["timing"]["duration_s"] = 3 * 3600
    many_words = analyse_script("Words and more words. " * 4_000)
    for breakdown in (long_film, many_words):
        with pytest.raises(StageInputError, match="too long for one voice job"):
            run_voice_synthesis(breakdown, storage=memory_storage, key_prefix="jobs/j1")
    assert memory_storage.objects == {}
