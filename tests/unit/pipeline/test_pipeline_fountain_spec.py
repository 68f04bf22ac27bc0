"""The Fountain parser's decisions where it once strayed from the spec (docs/fountain.md)."""

from __future__ import annotations

import time

import pytest

from services.ai_job.pipeline.breakdown import parse_heading
from services.ai_job.pipeline.fountain import Kind, parse_fountain


def kinds(text: str) -> list[str]:
    return [element.kind.value for element in parse_fountain(text).elements]


def test_a_scene_heading_needs_a_blank_line_after_it_or_the_end_of_the_script() -> None:
    assert kinds("Before.\n\nINT. HOUSE - DAY\n\nAfter.") == ["action", "scene_heading", "action"]
    assert kinds("Before.\n\nEXT. HOUSE - NIGHT") == ["action", "scene_heading"]
    refused = parse_fountain("Before.\n\nINT. HOUSE - DAY\nJohn walks in.\n").elements
    assert [(e.kind, e.text) for e in refused] == [
        (Kind.ACTION, "Before."),
        (Kind.ACTION, "INT. HOUSE - DAY\nJohn walks in."),
    ]


def test_a_heading_shaped_line_without_a_blank_after_is_action_not_a_speaker() -> None:
    # The early parser's own fixture: two heading lines in one paragraph are neither heading.
    assert kinds("\nINT. HOUSE - DAY\nEXT. HOUSE - DAY\n") == ["action"]
    assert parse_fountain("\nEXT. HOUSE - DAY\nWhat?\n").of_kind(Kind.CHARACTER) == []


def test_a_forced_scene_heading_needs_the_blank_line_after_it_too() -> None:
    heading = parse_fountain("Before.\n\n.KITCHEN\n\nSteam rises.").elements[1]
    assert (heading.kind, heading.text, heading.forced) == (Kind.SCENE_HEADING, "KITCHEN", True)
    assert kinds("Before.\n\n.KITCHEN\nSteam rises.") == ["action", "action"]


def test_a_character_cue_has_no_length_limit() -> None:
    name = "THE MAN WHO WAS NOT THERE, NOR ANYWHERE ELSE, NOR EVER REALLY WANTED TO BE, HE SAYS"
    assert len(name) > 80
    cue = parse_fountain(f"\n{name} (V.O.)\nHello.").elements[0]
    assert (cue.kind, cue.text, cue.extensions) == (Kind.CHARACTER, name, ("V.O.",))
    forced = parse_fountain(f"\n@{name.title()}\nHello.").elements[0]
    assert (forced.kind, forced.text) == (Kind.CHARACTER, name.title())


def test_a_long_uppercase_line_is_still_action_without_dialogue_after_it() -> None:
    shout = "THE WHOLE BUILDING SHAKES AS THE TRAIN THUNDERS PAST, AND EVERY WINDOW ON THE STREET"
    assert kinds(f"\n{shout}\n\nSilence.") == ["action", "action"]
    assert kinds(f"\n{shout.lower()}\nSilence.") == ["action"]


def test_a_cue_of_any_length_is_read_in_linear_time() -> None:
    # A lazy name pattern took 34 s on 20,000 spaces; the 80-character limit hid that.
    started = time.perf_counter()
    cue = parse_fountain("\nA" + " " * 400_000 + "B (V.O.) ^\nHi.\n").elements[0]
    assert time.perf_counter() - started < 2
    assert (cue.kind, cue.text, cue.extensions) == (Kind.CHARACTER, "A B", ("V.O.",))


@pytest.mark.parametrize("transition", ["FADE OUT.", "FADE TO BLACK.", "CUT TO BLACK."])
def test_three_bare_transitions_are_transitions_kept_verbatim(transition: str) -> None:
    element = parse_fountain(f"Bang.\n\n    {transition}\n\nTHE END").elements[1]
    assert (element.kind, element.text, element.forced) == (Kind.TRANSITION, transition, False)


@pytest.mark.parametrize(
    "line",
    ["SLOW FADE OUT.", "FADE OUT", "Fade out.", "FADE OUT. ", "CUT TO: ", "DISSOLVE."],
)
def test_other_lines_like_them_and_trailing_spaces_after_the_colon_are_action(line: str) -> None:
    assert kinds(f"Bang.\n\n{line}\n\nTHE END") == ["action", "action", "action"]


def test_a_bare_transition_needs_blank_lines_around_it_and_never_names_a_speaker() -> None:
    assert kinds("Bang.\nFADE OUT.\n\nTHE END") == ["action", "action"]
    assert kinds("Bang.\n\nFADE OUT.\nThe end.") == ["action", "action"]


@pytest.mark.parametrize("heading", ["I./E. CAR - DAY", "I/E. CAR - DAY", "i./e. car - day"])
def test_dotted_i_e_headings_are_scene_headings(heading: str) -> None:
    element = parse_fountain(f"Before.\n\n{heading}\n\nAfter.").elements[1]
    assert (element.kind, element.text) == (Kind.SCENE_HEADING, heading)


@pytest.mark.parametrize("line", ["I.E. CAR - DAY", "I-E CAR - DAY", "IE CAR - DAY"])
def test_other_abbreviations_are_not_scene_headings(line: str) -> None:
    assert kinds(f"Before.\n\n{line}\n\nAfter.") == ["action", "action", "action"]


@pytest.mark.parametrize(
    ("heading", "parsed"),
    [
        ("I./E. CAR - DAY", ("INT/EXT", "CAR", "DAY")),
        ("I/E. CAR - NIGHT", ("INT/EXT", "CAR", "NIGHT")),
        ("INT./EXT. CAR - DAY", ("INT/EXT", "CAR", "DAY")),
        ("ESTATE - DAY", (None, "ESTATE", "DAY")),  # a forced heading; no EST prefix in it
        ("INTERIOR LAB", (None, "INTERIOR LAB", None)),
    ],
)
def test_the_breakdown_reads_int_ext_from_every_accepted_prefix_and_only_from_a_prefix(
    heading: str, parsed: tuple[str | None, str, str | None]
) -> None:
    assert parse_heading(heading) == parsed
