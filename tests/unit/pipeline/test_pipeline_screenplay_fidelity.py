"""The breakdown keeps what the screenplay says: characters, markup, transitions, structure."""

from __future__ import annotations

from typing import Any

import pytest

from services.ai_job.pipeline.breakdown import NARRATOR
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.script_analysis import AnalysisOptions, analyse_script
from services.ai_job.pipeline.script_elements import beat_of
from services.ai_job.pipeline.voice_timeline import plan_lines


def test_a_character_named_narrator_keeps_his_lines_apart_from_the_studio_narrator() -> None:
    script = "INT. BOOTH - NIGHT\n\nA red light.\n\nNARRATOR\nIt began in the rain.\n"
    breakdown = analyse_script(script)
    assert breakdown["studio_narrator"] == NARRATOR != "NARRATOR"
    [character] = breakdown["characters"]
    assert (character["name"], character["line_count"]) == ("NARRATOR", 1)
    assert beat_of(breakdown, character["lines"][0])["text"] == "It began in the rain."
    speakers = [(line.speaker, line.kind) for line in plan_lines(breakdown, True)]
    assert speakers == [(NARRATOR, "action"), ("NARRATOR", "dialogue")]


def test_no_cue_can_take_the_studio_narrator_id() -> None:
    script = "INT. BOOTH - NIGHT\n\n@(narrator)\nHello.\n"
    [character] = analyse_script(script)["characters"]
    assert character["name"] == "narrator"
    assert character["name"] != NARRATOR


def test_a_forced_cue_with_only_a_parenthetical_is_a_character() -> None:
    script = "INT. HALL - DAY\n\nA door.\n\n@McCLANE\n(shrugs)\n\nANNA\nWell?\n"
    breakdown = analyse_script(script)
    names = [(c["name"], c["line_count"], c["scenes"]) for c in breakdown["characters"]]
    assert names == [("McCLANE", 0, [1]), ("ANNA", 1, [1])]
    assert breakdown["stats"]["speaking_characters"] == 1


def _spoken_text(breakdown: dict[str, Any]) -> str:
    return " ".join(b["text"] for scene in breakdown["scenes"] for b in scene["beats"])


@pytest.mark.parametrize(
    "markup",
    [
        "[[a note to self]]",
        "/* a cut paragraph */",
        "= The one where it rains.",
        "# Act One",
    ],
)
def test_auto_mode_never_reads_a_file_with_fountain_markup_as_prose(markup: str) -> None:
    breakdown = analyse_script(f"{markup}\n\nThe rain fell all night.\n")
    assert breakdown["mode"] == "fountain"
    assert _spoken_text(breakdown) == "The rain fell all night."


def test_prose_mode_never_narrates_notes_or_boneyard() -> None:
    story = (
        "The rain fell. [[check the weather]] It stopped.\n\n"
        "/* An old paragraph\n\nspanning two. */\n\nMorning came."
    )
    breakdown = analyse_script(story, AnalysisOptions(mode="prose"))
    assert _spoken_text(breakdown) == "The rain fell. It stopped. Morning came."
    assert [scene["line"] for scene in breakdown["scenes"]] == [1, 7]


def test_an_outline_of_synopses_gives_a_breakdown_with_no_scenes() -> None:
    outline = "= They meet.\n\n= They part.\n"
    for mode in ("auto", "fountain"):
        breakdown = analyse_script(outline, AnalysisOptions(mode=mode))
        assert (breakdown["mode"], breakdown["scenes"], breakdown["shots"]) == ("fountain", [], [])


def test_a_title_page_alone_is_still_refused() -> None:
    with pytest.raises(StageInputError, match="no action, dialogue or narration"):
        analyse_script("Title: Nothing\nAuthor: Nobody\n", AnalysisOptions(mode="fountain"))


def test_every_transition_of_a_scene_is_kept_verbatim_in_order() -> None:
    script = (
        "INT. LAB - DAY\n\nSparks.\n\nSMASH CUT TO:\n\nSmoke.\n\n> FADE OUT.\n\n"
        "INT. HALL - DAY\n\nQuiet.\n"
    )
    first, second = analyse_script(script)["scenes"]
    assert first["transitions"] == ["SMASH CUT TO:", "FADE OUT."]
    assert first["transition_out"] == "FADE OUT."
    assert (second["transitions"], second["transition_out"]) == ([], None)
