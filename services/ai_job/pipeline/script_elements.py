"""The breakdown's `elements`: every element of the script in document order, text kept once.

An element that became a beat (action, dialogue, lyrics, centered text) names its scene and beat
instead of repeating the beat's text; a scene heading names its scene. Everything else (sections,
synopses, transitions, cues, parentheticals, notes, boneyard, page breaks) carries its own text,
since nothing else in the breakdown holds it. Notes and boneyard are listed as the writer's and
never reach a beat, so nothing filmed comes from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.ai_job.pipeline.breakdown import Origins, Scene
from services.ai_job.pipeline.fountain import Element, Kind, Screenplay


def fountain_elements(play: Screenplay, origins: Origins) -> list[dict[str, Any]]:
    """Return the screenplay's elements and its boneyard, merged in document order."""
    placed = [
        (element.line, _element(element, origins.get(position)))
        for position, element in enumerate(play.elements)
    ]
    placed += [
        (line, {"kind": "boneyard", "line": line, "text": text}) for line, text in play.boneyard
    ]
    # Both parts are in line order already; the sort is stable, so equal lines keep parse order.
    return [item for _, item in sorted(placed, key=lambda pair: pair[0])]


def prose_elements(scenes: list[Scene]) -> list[dict[str, Any]]:
    """Return one element per narrated sentence of a prose script, in order."""
    return [
        {"kind": "narration", "scene": scene.index, "beat": beat.index}
        for scene in scenes
        for beat in scene.beats
    ]


def _element(element: Element, origin: tuple[int, int | None] | None) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": str(element.kind)}
    kind = element.kind
    if origin is not None and origin[1] is not None:
        item["scene"], item["beat"] = origin  # the beat has the line and the text
        return item
    item["line"] = element.line
    if origin is not None:
        item["scene"] = origin[0]
    elif kind is not Kind.PAGE_BREAK:
        item["text"] = element.text
        if element.speaker and kind is not Kind.CHARACTER:
            item["speaker"] = element.speaker  # a parenthetical, or a line with no words
    if element.forced:
        item["forced"] = True
    if kind is Kind.SCENE_HEADING and element.scene_number:
        item["scene_number"] = element.scene_number
    if kind is Kind.SECTION:
        item["depth"] = element.depth
    if kind is Kind.CHARACTER:
        if element.extensions:
            item["extensions"] = list(element.extensions)
        if element.dual_pair is not None:
            item["dual_pair"] = element.dual_pair
    return item


def beat_of(breakdown: Mapping[str, Any], ref: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the beat an element or a character's line refers to (`scene`, `beat`)."""
    scene = breakdown["scenes"][int(ref["scene"]) - 1]
    beat: Mapping[str, Any] = scene["beats"][int(ref["beat"]) - 1]
    return beat
