"""An independent checker of the Netflix English timed-text rules, for subtitle tests.

It reads events as parsed from the files (by pysrt or webvtt-py), not the generator's objects,
and shares no code with the generator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LINE_LIMIT = 42
LINES_LIMIT = 2
CPS_LIMIT = 20.0
MIN_MS = 5000 / 6
MAX_MS = 7000
_ARTICLES = {"a", "an", "the"}
_CONJUNCTIONS = {"and", "but", "or", "nor", "so", "yet", "because", "although", "though",
                 "while", "whereas", "if", "unless", "until", "when", "whenever", "where",
                 "which", "who", "that", "since", "as", "than", "whether", "after", "before",
                 "once"}  # fmt: skip
_TAG = re.compile(r"</?[a-z][^>]*>")
_PUNCTUATED = re.compile(r"[,.;:!?…]['\"”\u2019)]*$|--$|—$")


@dataclass(frozen=True)
class Cue:
    """A subtitle event as a parser saw it."""

    start_ms: int
    end_ms: int
    text: str

    @property
    def lines(self) -> list[str]:
        """Return the displayed lines, without formatting tags or entities."""
        plain = _TAG.sub("", self.text).replace("&lt;", "<").replace("&gt;", ">")
        return plain.replace("&amp;", "&").split("\n")


def _word(token: str) -> str:
    return re.sub(r"[^\w']", "", token).lower()


def _break_options(text: str) -> list[tuple[str, str]]:
    words = text.split(" ")
    return [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]


def violations(cues: list[Cue], *, frame_rate: float = 24.0, cps: float = CPS_LIMIT) -> list[str]:
    """Return a description of every broken rule (empty when all rules hold)."""
    found: list[str] = []
    two_frames = 2000 / frame_rate
    for number, cue in enumerate(cues, start=1):
        lines = cue.lines
        text = " ".join(lines)
        where = f"event {number} {text!r}"
        duration = cue.end_ms - cue.start_ms
        if len(lines) > LINES_LIMIT:
            found.append(f"{where}: {len(lines)} lines")
        found += [f"{where}: line of {len(line)} chars" for line in lines if len(line) > LINE_LIMIT]
        if not MIN_MS - 1 <= duration <= MAX_MS:
            found.append(f"{where}: lasts {duration} ms")
        if len(text) / (duration / 1000) > cps + 1e-9:
            found.append(f"{where}: {len(text) / (duration / 1000):.1f} characters per second")
        if number > 1 and cue.start_ms - cues[number - 2].end_ms < two_frames - 1:
            found.append(f"{where}: {cue.start_ms - cues[number - 2].end_ms} ms after the last")
        if len(lines) == 2 and len(text) <= LINE_LIMIT:
            found.append(f"{where}: two lines for text that fits one")
        if len(lines) == 2:
            found += _break_violations(where, lines, text)
    return found


def _break_violations(where: str, lines: list[str], text: str) -> list[str]:
    last, first = _word(lines[0].split(" ")[-1]), _word(lines[1].split(" ")[0])
    if last in _ARTICLES:
        return [f"{where}: line ends with the article {last!r}"]
    fitting = [(a, b) for a, b in _break_options(text) if max(len(a), len(b)) <= LINE_LIMIT]
    at_punctuation = [(a, b) for a, b in fitting if _PUNCTUATED.search(a)]
    before_conjunction = [(a, b) for a, b in fitting if _word(b.split(" ")[0]) in _CONJUNCTIONS]
    if at_punctuation and not _PUNCTUATED.search(lines[0]):
        return [f"{where}: breaks away from punctuation although a break there fits"]
    if not at_punctuation and before_conjunction and first not in _CONJUNCTIONS:
        return [f"{where}: does not break before a conjunction although one fits"]
    return []
