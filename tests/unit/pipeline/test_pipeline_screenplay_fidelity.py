"""The breakdown keeps what the screenplay says: characters, markup, transitions, structure."""

from __future__ import annotations

from services.ai_job.pipeline.breakdown import NARRATOR
from services.ai_job.pipeline.script_analysis import analyse_script
from services.ai_job.pipeline.voice_timeline import plan_lines


def test_a_character_named_narrator_keeps_his_lines_apart_from_the_studio_narrator() -> None:
    script = "INT. BOOTH - NIGHT\n\nA red light.\n\nNARRATOR\nIt began in the rain.\n"
    breakdown = analyse_script(script)
    assert breakdown["studio_narrator"] == NARRATOR != "NARRATOR"
    [character] = breakdown["characters"]
    assert (character["name"], character["line_count"]) == ("NARRATOR", 1)
    assert character["lines"][0]["text"] == "It began in the rain."
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
