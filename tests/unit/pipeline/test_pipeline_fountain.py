"""The Fountain parser, one test per rule of fountain.io/syntax, and the corpus sample."""

from __future__ import annotations

import pytest

from services.ai_job.pipeline.fountain import Kind, parse_fountain
from services.ai_job.pipeline.fountain_text import Span


def kinds(text: str) -> list[tuple[str, str]]:
    return [(element.kind.value, element.text) for element in parse_fountain(text).elements]


def test_corpus_sample_has_eight_scene_headings_two_of_them_forced(corpus_text: str) -> None:
    headings = parse_fountain(corpus_text).of_kind(Kind.SCENE_HEADING)
    assert len(headings) == 8
    assert [h.text for h in headings if h.forced] == ["SNIPER SCOPE POV", "OPENING TITLES"]


def test_corpus_sample_has_seven_speaking_characters_and_one_dual_pair(corpus_text: str) -> None:
    play = parse_fountain(corpus_text)
    speakers = {e.speaker for e in play.elements if e.kind is Kind.DIALOGUE}
    assert speakers == {"STEEL", "BRICK", "JACK", "DAN", "COGNITO", "MINION", "HANDSOME MAN"}
    paired = [
        (c.text, c.dual_pair) for c in play.of_kind(Kind.CHARACTER) if c.dual_pair is not None
    ]
    assert paired == [("STEEL", 0), ("BRICK", 0)]


def test_title_page_reads_inline_and_indented_values_without_emphasis(corpus_text: str) -> None:
    page = parse_fountain(corpus_text).title_page
    assert page["title"] == "BRICK & STEEL\nFULL RETIRED"
    assert page["author"] == "Stu Maschwitz"
    assert page["draft date"] == "1/27/2012"
    assert page["contact"] == "Next Level Productions\n1588 Mission Dr.\nSolvang, CA 93463"


def test_title_page_ends_at_the_first_blank_line_and_is_optional() -> None:
    play = parse_fountain("Title: Short\nAuthor: Me\n\nFADE IN:\n\nAction here.")
    assert play.title_page == {"title": "Short", "author": "Me"}
    assert parse_fountain("Note: this is action.\n").title_page == {}


@pytest.mark.parametrize(
    "heading",
    ["INT. HOUSE - DAY", "EXT. HOUSE - NIGHT", "EST. CITY - DAWN", "INT./EXT. CAR - DAY",
     "INT/EXT CAR - DAY", "I/E CAR - DAY", "int. kitchen - night", "EXT BEACH - DAY"],
)  # fmt: skip
def test_scene_heading_prefixes_are_recognised_in_any_case(heading: str) -> None:
    assert kinds(f"Before.\n\n{heading}\n\nAfter.")[1] == ("scene_heading", heading)


def test_scene_heading_needs_a_blank_line_before_it_and_a_real_prefix() -> None:
    assert kinds("Walking.\nINT. HOUSE - DAY\n")[0][0] == "action"
    assert kinds("\nINTERIOR DESIGN is his passion.\n")[0][0] == "action"


def test_scene_number_is_split_off_the_heading() -> None:
    element = parse_fountain("INT. HOUSE - DAY #1A#\n\nAction.").elements[0]
    assert (element.text, element.scene_number) == ("INT. HOUSE - DAY", "1A")


def test_forced_scene_heading_starts_with_one_period_but_an_ellipsis_does_not() -> None:
    assert kinds(".FLASHBACK - 1985\n\n...and then silence.") == [
        ("scene_heading", "FLASHBACK - 1985"),
        ("action", "...and then silence."),
    ]


def test_character_cue_is_uppercase_with_blank_before_and_dialogue_after() -> None:
    element = parse_fountain("\nMOM (V.O.) (cont'd)\nDinner's ready.\n").elements[0]
    assert (element.kind, element.text, element.extensions) == (
        Kind.CHARACTER,
        "MOM",
        ("V.O.", "CONT'D"),
    )
    assert kinds("\nR2D2\nBeep.")[0] == ("character", "R2D2")
    assert kinds("\nBOOM.\n\nThe wall falls.")[0] == ("action", "BOOM.")


def test_forced_character_cue_keeps_mixed_case() -> None:
    elements = parse_fountain("\n@McCLANE\nYippee ki-yay.").elements
    assert (elements[0].kind, elements[0].text, elements[0].forced) == (
        Kind.CHARACTER,
        "McCLANE",
        True,
    )
    assert (elements[1].kind, elements[1].speaker) == (Kind.DIALOGUE, "McCLANE")


def test_parentheticals_sit_between_dialogue_lines_of_one_speaker() -> None:
    text = "\nSTEEL\n(pause)\nNo.\n(quietly)\nYes.\n"
    assert kinds(text) == [
        ("character", "STEEL"),
        ("parenthetical", "(pause)"),
        ("dialogue", "No."),
        ("parenthetical", "(quietly)"),
        ("dialogue", "Yes."),
    ]


def test_dialogue_keeps_line_breaks_and_two_spaces_make_a_blank_line_inside_it() -> None:
    elements = parse_fountain("\nDAN\nThen let's retire them.\n  \nPermanently.\n\nAfter.").elements
    assert elements[1].text == "Then let's retire them.\n\nPermanently."
    assert elements[2].kind is Kind.ACTION


def test_dual_dialogue_caret_pairs_the_cue_with_the_previous_one() -> None:
    play = parse_fountain("\nBRICK\nScrew it.\n\nSTEEL ^\nScrew it.\n\nJACK\nWhat?\n")
    cues = play.of_kind(Kind.CHARACTER)
    assert [(c.text, c.dual_pair) for c in cues] == [("BRICK", 0), ("STEEL", 0), ("JACK", None)]


def test_lyrics_start_with_a_tilde_inside_or_outside_dialogue() -> None:
    assert kinds("~Willy Wonka!\n~Willy Wonka!") == [("lyrics", "Willy Wonka!\nWilly Wonka!")]
    sung = parse_fountain("\nCHARLIE\n~Pure imagination.\n").elements[1]
    assert (sung.kind, sung.speaker) == (Kind.LYRICS, "CHARLIE")


def test_transition_is_uppercase_ending_in_to_with_blank_lines_around() -> None:
    assert kinds("Bang.\n\nCUT TO:\n\nINT. LAB - DAY\n\nQuiet.")[1] == ("transition", "CUT TO:")
    assert kinds("\nCUT TO:\nthe chase.")[0][0] == "action"


def test_forced_transition_starts_with_a_greater_than_sign() -> None:
    element = parse_fountain("> Burn to pink.").elements[0]
    assert (element.kind, element.text, element.forced) == (Kind.TRANSITION, "Burn to pink.", True)


def test_centered_text_is_wrapped_in_angle_brackets_and_consecutive_lines_join() -> None:
    assert kinds(">THE END<") == [("centered", "THE END")]
    assert kinds("> BRICK & STEEL <\n> FULL RETIRED <") == [
        ("centered", "BRICK & STEEL\nFULL RETIRED")
    ]


def test_emphasis_markers_become_spans_over_the_plain_text() -> None:
    element = parse_fountain("*italic* **bold** ***both*** _under_ plain").elements[0]
    assert element.text == "italic bold both under plain"
    assert set(element.emphasis) == {
        Span(0, 6, "italic"),
        Span(7, 11, "bold"),
        Span(12, 16, "bold"),
        Span(12, 16, "italic"),
        Span(17, 22, "underline"),
    }


def test_emphasis_nests_escapes_and_ignores_unclosed_or_inner_word_markers() -> None:
    nested = parse_fountain("_Steel's face *FILLS* the scope_").elements[0]
    assert Span(0, 28, "underline") in nested.emphasis
    assert Span(13, 18, "italic") in nested.emphasis
    literal = parse_fountain(r"5 \* 3 = 15, a snake_case_name and *unclosed").elements[0]
    assert literal.text == "5 * 3 = 15, a snake_case_name and *unclosed"
    assert literal.emphasis == ()


def test_notes_are_lifted_out_inline_standalone_and_across_lines() -> None:
    play = parse_fountain(
        "He waits. [[Is this too slow?]] Then runs.\n\n[[A note\nover two lines]]\n\nDone."
    )
    assert play.elements[0].text == "He waits.  Then runs."
    assert play.elements[0].notes == ["Is this too slow?"]
    assert (play.elements[1].kind, play.elements[1].text) == (Kind.NOTE, "A note over two lines")
    assert play.notes == ["Is this too slow?", "A note over two lines"]


def test_a_note_may_hold_a_two_space_blank_line_but_not_an_empty_one() -> None:
    assert parse_fountain("[[one\n  \ntwo]]").notes == ["one two"]
    broken = parse_fountain("[[one\n\ntwo]]")
    assert broken.notes == []
    assert broken.elements[0].text == "[[one"


def test_boneyard_is_removed_inline_and_across_paragraphs_keeping_line_numbers() -> None:
    play = parse_fountain("Keep /* cut */this.\n\n/* gone\n\nGONE:\n\n*/\nINT. LAB - DAY\n\nEnd.")
    assert kinds("Keep /* cut */this.")[0] == ("action", "Keep this.")
    heading = play.of_kind(Kind.SCENE_HEADING)[0]
    assert (heading.text, heading.line) == ("INT. LAB - DAY", 8)


def test_a_boneyard_line_inside_a_paragraph_does_not_split_it() -> None:
    assert kinds("First line.\n/* hidden */\nSecond line.") == [
        ("action", "First line.\nSecond line.")
    ]


def test_sections_have_depth_and_synopses_start_with_one_equals_sign() -> None:
    play = parse_fountain("# Act One\n\n## Sequence A\n\n= They meet.\n\nAction.")
    sections = play.of_kind(Kind.SECTION)
    assert [(s.text, s.depth) for s in sections] == [("Act One", 1), ("Sequence A", 2)]
    assert play.of_kind(Kind.SYNOPSIS)[0].text == "They meet."


def test_three_or_more_equals_signs_make_a_page_break() -> None:
    assert kinds("Page one.\n\n===\n\nPage two.\n\n=====") == [
        ("action", "Page one."),
        ("page_break", ""),
        ("action", "Page two."),
        ("page_break", ""),
    ]


def test_exclamation_mark_forces_action_for_an_uppercase_line() -> None:
    element = parse_fountain("\n!SCANNING THE AISLES...\nWhere is that pit boss?").elements[0]
    assert (element.kind, element.forced) == (Kind.ACTION, True)
    assert element.text == "SCANNING THE AISLES...\nWhere is that pit boss?"


def test_action_keeps_its_line_breaks_and_indentation() -> None:
    assert kinds("They drink.\n\tThen a beat.\n    Longer.") == [
        ("action", "They drink.\n\tThen a beat.\n    Longer.")
    ]


def test_windows_line_endings_and_a_byte_order_mark_parse_like_unix_text() -> None:
    unix = "\ufeffINT. HOUSE - DAY\n\nSTEEL\nHi.\n".lstrip("\ufeff")
    assert kinds("\ufeff" + unix.replace("\n", "\r\n")) == kinds(unix)
