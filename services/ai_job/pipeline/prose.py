"""Prose mode: each paragraph becomes a scene that the narrator reads sentence by sentence."""

from __future__ import annotations

import re

from services.ai_job.pipeline.breakdown import NARRATOR, Scene
from services.ai_job.pipeline.fountain_text import strip_comments, without_notes
from services.ai_job.pipeline.text import split_sentences

_TIME_WORDS = re.compile(
    r"\b(morning|noon|afternoon|evening|night|midnight|dawn|dusk|sunset|sunrise|twilight)\b",
    re.IGNORECASE,
)


def paragraphs(text: str) -> list[tuple[int, str]]:
    """Return each paragraph of `text`, without notes and boneyard, with the line it starts on."""
    # Notes and boneyard are the writer's, never narration.
    cleaned = strip_comments(text)
    numbered = zip([*cleaned.numbers, 0], [*map(without_notes, cleaned.lines), ""], strict=True)
    found: list[tuple[int, str]] = []
    lines: list[str] = []
    start = 1
    for number, line in numbered:
        if line.strip():
            if not lines:
                start = number
            lines.append(line.strip())
        elif lines:
            found.append((start, " ".join(lines)))
            lines = []
    return found


def scenes_from_prose(text: str) -> list[Scene]:
    """Make one narrated scene per paragraph."""
    scenes: list[Scene] = []
    for line, paragraph in paragraphs(text):
        scene = Scene(len(scenes) + 1, None, line)
        if match := _TIME_WORDS.search(paragraph):
            scene.time_of_day = match.group(1).upper()
        for sentence in split_sentences(paragraph):
            beat = scene.add("narration", sentence, line)
            beat.speaker = NARRATOR
        scenes.append(scene)
    return scenes
