"""The breakdown's `elements` keep the whole screenplay in document order, each text once."""

from __future__ import annotations

import json
import re
from typing import Any

from services.ai_job.pipeline.script_analysis import AnalysisOptions, analyse_script
from services.ai_job.pipeline.script_elements import beat_of

EVERY_KIND = """\
Title: Every Kind
Author: A. Writer

# Act One

= Anna comes home.

INT. HALL - NIGHT #1A#

Rain on the windows. [[make it louder]]

/* a cut line */

ANNA (V.O.)
(softly)
Is anyone here?

BEN
Here! ^

CARL ^
Here!

~La la la.

> INTERMISSION <

===

CUT TO:

.FLASHBACK
"""


def _texts(breakdown: dict[str, Any], kind: str) -> list[str]:
    """The text of every element of `kind`, read through its beat where it has one."""
    found = []
    for element in breakdown["elements"]:
        if element["kind"] == kind:
            found.append(
                element["text"] if "text" in element else beat_of(breakdown, element)["text"]
            )
    return found


def test_every_element_is_listed_in_document_order() -> None:
    breakdown = analyse_script(EVERY_KIND)
    kinds = [element["kind"] for element in breakdown["elements"]]
    assert kinds == [
        "section", "synopsis", "scene_heading", "action", "boneyard",
        "character", "parenthetical", "dialogue", "character", "dialogue",
        "character", "dialogue", "lyrics", "centered", "page_break", "transition",
        "scene_heading",
    ]  # fmt: skip
    elements = breakdown["elements"]
    assert elements[0] == {"kind": "section", "line": 4, "text": "Act One", "depth": 1}
    heading = elements[2]
    assert (heading["scene"], heading["scene_number"]) == (1, "1A")
    assert elements[4] == {"kind": "boneyard", "line": 12, "text": "a cut line"}
    assert elements[5]["extensions"] == ["V.O."]
    assert elements[6] == {
        "kind": "parenthetical",
        "line": 15,
        "text": "(softly)",
        "speaker": "ANNA",
    }
    assert elements[8]["dual_pair"] == elements[10]["dual_pair"] == 0
    assert elements[-1]["forced"] is True
    assert _texts(breakdown, "transition") == ["CUT TO:"]
    assert _texts(breakdown, "lyrics") == ["La la la."]
    assert _texts(breakdown, "centered") == ["INTERMISSION"]
    assert breakdown["notes"] == ["make it louder"]
    assert breakdown["title_page"] == {"title": "Every Kind", "author": "A. Writer"}


def test_text_that_became_a_beat_is_stored_once() -> None:
    breakdown = analyse_script(EVERY_KIND)
    for element in breakdown["elements"]:
        assert ("beat" in element) != ("text" in element) or element["kind"] in {
            "scene_heading",
            "page_break",
        }
    for character in breakdown["characters"]:
        for line in character["lines"]:
            assert set(line) == {"scene", "beat"}
    assert all("image_prompt" not in shot for shot in breakdown["shots"])
    document = json.dumps(breakdown)
    assert document.count("Is anyone here?") == 1
    assert document.count("Rain on the windows.") == 1  # shots derive their descriptions


def test_notes_and_boneyard_are_the_writers_and_never_filmed() -> None:
    breakdown = analyse_script(EVERY_KIND)
    spoken = " ".join(b["text"] for s in breakdown["scenes"] for b in s["beats"])
    assert "louder" not in spoken
    assert "cut line" not in spoken


def test_prose_lists_its_sentences_as_narration_elements() -> None:
    breakdown = analyse_script("It rained. Then it stopped.", AnalysisOptions(mode="prose"))
    assert [e["kind"] for e in breakdown["elements"]] == ["narration", "narration"]
    assert _texts(breakdown, "narration") == ["It rained.", "Then it stopped."]


def _annotated(corpus: str) -> str:
    """The corpus with the markup it lacks: sections, synopses and lyrics in a dialogue block."""
    text = corpus.replace(
        "EXT. BRICK'S PATIO - DAY", "# Act One\n\n= Two old cops.\n\nEXT. BRICK'S PATIO - DAY", 1
    )
    text = text.replace("Screw retirement.\n", "Screw retirement.\n~Retire, retire, retire!\n", 1)
    return text.replace("INT. TRAILER HOME - DAY", "## The job\n\nINT. TRAILER HOME - DAY", 1)


def _source_blocks(text: str) -> list[tuple[str, list[str]]]:
    """Dialogue blocks found by the spec's rules alone: a cue after a blank, lines until a blank."""
    lines = text.split("\n")
    blocks: list[tuple[str, list[str]]] = []
    for index, line in enumerate(lines[1:-1], start=1):
        cue = line.strip()
        after = lines[index + 1].strip()
        shouted = bool(re.search(r"[A-Z]", cue)) and cue == cue.upper()
        if lines[index - 1].strip() or not after or not shouted or cue.endswith("TO:"):
            continue
        if re.match(r"(INT|EXT|EST|I/E)[. ]", cue) or cue[:1] in "#=~>!.[":
            continue
        name = re.sub(r"\s*(\(.*\))?\s*\^?$", "", cue.removeprefix("@")).strip()
        spoken = []
        for follower in lines[index + 1 :]:
            if not follower.strip():
                break
            if not follower.strip().startswith(("(", "~")):
                spoken.append(re.sub(r"[*_]", "", follower.strip()))  # emphasis is markup
        blocks.append((name, spoken))
    return blocks


def _breakdown_blocks(breakdown: dict[str, Any]) -> list[tuple[str, list[str]]]:
    blocks: list[tuple[str, list[str]]] = []
    for element in breakdown["elements"]:
        if element["kind"] == "character":
            blocks.append((element["text"], []))
        elif element["kind"] == "dialogue" and blocks:
            blocks[-1][1].extend(beat_of(breakdown, element)["text"].split("\n"))
    return blocks


def test_corpus_round_trip_keeps_every_transition_section_synopsis_lyric_and_block(
    corpus_text: str,
) -> None:
    source = _annotated(corpus_text)
    breakdown = analyse_script(source)
    stripped = [line.strip() for line in source.split("\n")]
    transitions = [
        line.removeprefix(">").strip()
        for line in stripped
        if re.fullmatch(r"[A-Z ]+TO:", line) or (line.startswith(">") and not line.endswith("<"))
    ]
    assert len(transitions) == 7
    assert _texts(breakdown, "transition") == transitions
    sections = [line.lstrip("#").strip() for line in stripped if line.startswith("#")]
    assert _texts(breakdown, "section") == sections == ["Act One", "The job"]
    synopses = [line[1:].strip() for line in stripped if re.match(r"=(?!==)", line)]
    assert _texts(breakdown, "synopsis") == synopses == ["Two old cops."]
    lyrics = [line[1:] for line in stripped if line.startswith("~")]
    assert _texts(breakdown, "lyrics") == lyrics == ["Retire, retire, retire!"]
    blocks = _source_blocks(source)
    assert _breakdown_blocks(breakdown) == blocks
    assert len(blocks) == 20  # 22 dialogue lines: two blocks have a parenthetical between lines


def test_a_megabyte_script_gives_a_breakdown_under_ten_megabytes(corpus_text: str) -> None:
    body = corpus_text.split("\n\n", 1)[1]
    script = corpus_text
    while len(script.encode()) < 1_000_000:
        script += "\n\n" + body
    breakdown = analyse_script(script[:1_000_000])
    stored = json.dumps(breakdown, ensure_ascii=False, separators=(",", ":")).encode()
    # v1 wrote 15.2 MB; references instead of copies gave 9.6 MB; shots that derive their
    # descriptions and beats without the timing plan's working, 7.9 MB.
    assert len(stored) < 8_000_000
