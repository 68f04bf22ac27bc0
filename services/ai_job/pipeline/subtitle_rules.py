"""The Netflix English timed-text rules: where lines break, how text splits, how long events last.

Break preference, best first: after sentence punctuation, after clause punctuation, before a
conjunction, before a preposition, anywhere else; never after an article (or after a word that
must stay with the next, such as `to` or `my`, unless nothing else fits).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

MAX_LINE_CHARS = 42
MAX_LINES = 2
MAX_CPS = 20.0
MIN_DURATION_MS = math.ceil(5000 / 6)  # 5/6 s
MAX_DURATION_MS = 7000

ARTICLES = frozenset({"a", "an", "the"})
CONJUNCTIONS = frozenset(
    {"and", "but", "or", "nor", "so", "yet", "because", "although", "though", "while",
     "whereas", "if", "unless", "until", "when", "whenever", "where", "which", "who", "that",
     "since", "as", "than", "whether", "after", "before", "once"}
)  # fmt: skip
PREPOSITIONS = frozenset(
    {"to", "of", "in", "on", "at", "by", "for", "with", "from", "into", "onto", "about",
     "over", "under", "through", "between", "against", "without", "within", "during"}
)  # fmt: skip
_CLINGING = PREPOSITIONS | frozenset(
    {"my", "your", "his", "her", "its", "our", "their", "this", "these", "those", "very",
     "mr", "mrs", "ms", "dr", "i", "not"}
)  # fmt: skip
_SENTENCE_PUNCT = re.compile(r"[.!?…]['\"”\u2019)]*$")
_CLAUSE_PUNCT = re.compile(r"([,;:]|--|—)['\"”\u2019)]*$")
_BARE = re.compile(r"[^\w'\u2019-]+")


def bare(word: str) -> str:
    """Return a word lowercased without surrounding punctuation."""
    return _BARE.sub("", word).lower()


def break_tier(left: str, right: str) -> int | None:
    """Rank a break between `left` and `right` (0 best); None where it is forbidden."""
    last, first = left.rsplit(" ", 1)[-1], right.split(" ", 1)[0]
    if bare(last) in ARTICLES:
        return None
    if _SENTENCE_PUNCT.search(last):
        return 0
    if _CLAUSE_PUNCT.search(last):
        return 1
    if bare(first) in CONJUNCTIONS:
        return 2
    if bare(first) in PREPOSITIONS:
        return 3
    return 5 if bare(last) in _CLINGING else 4


def break_lines(text: str, width: int = MAX_LINE_CHARS) -> list[str] | None:
    """Lay `text` out on one line, or two at the best allowed break; None if it cannot fit."""
    if len(text) <= width:
        return [text]
    best: tuple[int, int, int] | None = None
    for position in (i for i, char in enumerate(text) if char == " "):
        left, right = text[:position].rstrip(), text[position + 1 :].lstrip()
        tier = break_tier(left, right)
        if tier is None or not left or not right or max(len(left), len(right)) > width:
            continue
        # Within a tier: balanced lines, the lower one longer (a pyramid) on a tie.
        score = (tier, abs(len(left) - len(right)), len(left) - len(right))
        if best is None or score < best:
            best = score
            lines = [left, right]
    return lines if best is not None else None


def split_text(text: str, fits: int = MAX_LINES * MAX_LINE_CHARS) -> list[str]:
    """Split text that does not fit one event at the best-ranked point near its middle."""
    text = " ".join(text.split())
    if len(text) <= fits and break_lines(text) is not None:
        return [text]
    spaces = [i for i, char in enumerate(text) if char == " "]
    if not spaces:  # one enormous word: cut it
        return [text[:MAX_LINE_CHARS], *split_text(text[MAX_LINE_CHARS:], fits)]
    middle = len(text) / 2
    scored = []
    for position in spaces:
        tier = break_tier(text[:position], text[position + 1 :])
        rank = 9 if tier is None else tier
        scored.append((rank * 8 + abs(position - middle) * 24 / len(text), position))
    position = min(scored)[1]
    return [*split_text(text[:position], fits), *split_text(text[position + 1 :], fits)]


def visible_length(lines: list[str]) -> int:
    """Count the characters a viewer reads (all characters, not the line break)."""
    return sum(len(line) for line in lines) + max(0, len(lines) - 1)


@dataclass
class Event:
    """One subtitle event in milliseconds, laid out in lines."""

    start_ms: int
    end_ms: int
    lines: list[str]
    cue: int
    speaker: str
    italic: bool = False
    speech_ms: tuple[int, int] = field(default=(0, 0))

    @property
    def duration_ms(self) -> int:
        """Return how long the event shows."""
        return self.end_ms - self.start_ms


def min_gap_ms(frame_rate: float) -> int:
    """Return two frames at `frame_rate`, rounded up to whole milliseconds."""
    return math.ceil(2000 / frame_rate)


def retime(events: list[Event], gap_ms: int, max_cps: float = MAX_CPS) -> list[Event]:
    """Stretch each event to its minimum reading time without touching its neighbours.

    An event first lingers after its speech, then starts before it; only if both are blocked
    does it push the next event later (spoken lines 250 ms apart rarely need that).
    """
    for index, event in enumerate(events):
        previous_end = events[index - 1].end_ms if index else -gap_ms
        event.start_ms = max(event.start_ms, previous_end + gap_ms, 0)
        event.end_ms = max(event.end_ms, event.start_ms + 1)
        need = max(MIN_DURATION_MS, math.ceil(visible_length(event.lines) * 1000 / max_cps))
        need = min(need, MAX_DURATION_MS)
        following = events[index + 1].start_ms if index + 1 < len(events) else None
        limit = event.start_ms + MAX_DURATION_MS
        if following is not None:
            limit = min(limit, following - gap_ms)
        if event.duration_ms < need:
            event.end_ms = max(event.end_ms, min(event.start_ms + need, limit))
        if event.duration_ms < need:
            event.start_ms = max(previous_end + gap_ms, event.end_ms - need, 0)
        if event.duration_ms < need:
            event.end_ms = event.start_ms + need
        event.end_ms = min(event.end_ms, event.start_ms + MAX_DURATION_MS)
    return events
