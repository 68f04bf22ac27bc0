"""Fountain's inline layer: the boneyard and notes come out before parsing, emphasis after.

Notes are replaced by a private-use marker holding their index, so the block parser can tell
where each note was without treating it as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOTE_OPEN = "\ue000"
NOTE_CLOSE = "\ue001"
_NOTE_MARKER = re.compile(f"{NOTE_OPEN}(\\d+){NOTE_CLOSE}")
_TOKEN = re.compile(r"/\*|\[\[|\n")
_ESCAPABLE = frozenset("*_\\")
_ESCAPED = "\x00"
BOLD, ITALIC, UNDERLINE = 1, 2, 4
_EMPHASIS = (("***", BOLD | ITALIC), ("**", BOLD), ("*", ITALIC), ("_", UNDERLINE))


@dataclass(frozen=True)
class Span:
    """A run of emphasised plain text: [start, end) and one of bold, italic, underline."""

    start: int
    end: int
    style: str


@dataclass(frozen=True)
class Cleaned:
    """Lines with the boneyard removed and notes replaced by markers, and where each began."""

    lines: list[str]
    numbers: list[int]
    notes: list[str]
    boneyard: list[tuple[int, str]]  # the line each /* comment */ began on, and its text


class _Next:
    """Where a pattern next occurs at or after a position; positions only grow, so it caches.

    Without the cache, a document of many unclosed `[[` or `/*` would be searched to its end
    once per opener: quadratic time on a 1 MiB script.
    """

    def __init__(self, text: str, pattern: str) -> None:
        self.text = text
        self.pattern = re.compile(pattern)
        self.found = -2  # not searched yet

    def at_or_after(self, position: int) -> int:
        """Return the start of the next match at or after `position`, or -1."""
        if self.found == -1 or self.found >= position:
            return self.found
        match = self.pattern.search(self.text, position)
        self.found = match.start() if match else -1
        return self.found


def strip_comments(text: str) -> Cleaned:
    """Remove `/* boneyard */` and lift `[[notes]]` out, keeping original line numbers."""
    lines: list[str] = []
    numbers: list[int] = []
    notes: list[str] = []
    boneyard: list[tuple[int, str]] = []
    current: list[str] = []
    line_number = first_line = 1
    touched = False  # the current line lost some text to a comment
    position = 0
    closers = {"/*": _Next(text, r"\*/"), "[[": _Next(text, r"\]\]")}
    # Inside a note a blank line is allowed only as exactly two spaces (the spec's rule).
    paragraph_end = _Next(text, r"\n(?!  \n)[ \t]*\n")
    while True:
        match = _TOKEN.search(text, position)
        if match is None:
            current.append(text[position:])
            break
        current.append(text[position : match.start()])
        mark, position = match.group(), match.end()
        if mark == "\n":
            _emit(lines, numbers, "".join(current), first_line, touched)
            current, touched = [], False
            line_number += 1
            first_line = line_number
            continue
        end = closers[mark].at_or_after(position)
        stop = paragraph_end.at_or_after(position) if mark == "[[" else -1
        if end < 0 or -1 < stop < end:
            current.append(mark)  # unterminated: literal text, as in other parsers
            continue
        body = text[position:end]
        if mark == "[[":
            current.append(f"{NOTE_OPEN}{len(notes)}{NOTE_CLOSE}")
            notes.append(" ".join(body.split()))
        else:
            boneyard.append((line_number, body.strip()))
        line_number += body.count("\n")
        touched = True
        position = end + 2
    _emit(lines, numbers, "".join(current), first_line, touched)
    return Cleaned(lines, numbers, notes, boneyard)


def _emit(lines: list[str], numbers: list[int], line: str, number: int, touched: bool) -> None:
    # A line that held nothing but boneyard disappears instead of becoming a blank line,
    # so a comment inside a paragraph does not split it.
    if touched and not line.strip():
        return
    lines.append(line)
    numbers.append(number)


def note_indices(raw: str) -> list[int]:
    """Return the indices of the notes marked in `raw`."""
    return [int(index) for index in _NOTE_MARKER.findall(raw)]


def without_notes(raw: str) -> str:
    """Return `raw` with note markers removed."""
    return _NOTE_MARKER.sub("", raw)


def parse_emphasis(raw: str) -> tuple[str, tuple[Span, ...]]:
    """Return the plain text of one line and its emphasis spans (`\\*` escapes a marker)."""
    if not any(marker in raw for marker in "*_\\"):
        return raw, ()
    chars: list[str] = []
    escaped: list[bool] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw) and raw[index + 1] in _ESCAPABLE:
            chars.append(raw[index + 1])
            escaped.append(True)
            index += 2
            continue
        chars.append(char)
        escaped.append(False)
        index += 1
    styles = [0] * len(chars)
    for delimiter, names in _EMPHASIS:
        if delimiter in raw:
            _apply(delimiter, names, chars, escaped, styles)
    return "".join(chars), _spans(styles)


def _apply(
    delimiter: str, names: int, chars: list[str], escaped: list[bool], styles: list[int]
) -> None:
    subject = "".join(_ESCAPED if esc else c for c, esc in zip(chars, escaped, strict=True))
    drop: set[int] = set()
    size = len(delimiter)
    for start, end in _pairs(subject, delimiter):
        for position in range(start + size, end):
            styles[position] |= names
        drop.update(range(start, start + size))
        drop.update(range(end, end + size))
    if drop:
        keep = [i for i in range(len(chars)) if i not in drop]
        chars[:] = [chars[i] for i in keep]
        escaped[:] = [escaped[i] for i in keep]
        styles[:] = [styles[i] for i in keep]


def _pairs(subject: str, delimiter: str) -> list[tuple[int, int]]:
    """Pair each opening delimiter with the first closing one after it, in one pass.

    An opener is followed by a non-space, a closer preceded by one, and `_` must not touch a
    letter on its outer side (snake_case_names stay plain). It finds what a non-greedy regex
    would, without the regex's quadratic backtracking on long lines.
    """
    size, length = len(delimiter), len(subject)
    word = delimiter == "_"
    pairs: list[tuple[int, int]] = []
    opener: int | None = None
    index = subject.find(delimiter)
    while index >= 0:
        before = subject[index - 1] if index else " "
        after = subject[index + size] if index + size < length else " "
        closes = not before.isspace() and not (word and after.isalnum())
        opens = not after.isspace() and after != delimiter[0] and not (word and before.isalnum())
        step = size
        if opener is not None and closes and index > opener + size:
            pairs.append((opener, index))
            opener = None
        elif opener is None and opens:
            opener = index
        else:
            step = 1
        index = subject.find(delimiter, index + step)
    return pairs


def _spans(styles: list[int]) -> tuple[Span, ...]:
    spans: list[Span] = []
    for bit, style in ((BOLD, "bold"), (ITALIC, "italic"), (UNDERLINE, "underline")):
        start: int | None = None
        for position, flags in enumerate([*styles, 0]):
            if flags & bit and start is None:
                start = position
            elif not flags & bit and start is not None:
                spans.append(Span(start, position, style))
                start = None
    return tuple(sorted(spans, key=lambda span: (span.start, span.style)))
