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
# Inside a note a blank line is allowed only as exactly two spaces (the spec's rule).
_BLANK_IN_NOTE = re.compile(r"\n([ \t]*)\n")
_ESCAPABLE = frozenset("*_\\")
_ESCAPED = "\x00"
_EMPHASIS = (
    ("***", ("bold", "italic")),
    ("**", ("bold",)),
    ("*", ("italic",)),
    ("_", ("underline",)),
)


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


def strip_comments(text: str) -> Cleaned:
    """Remove `/* boneyard */` and lift `[[notes]]` out, keeping original line numbers."""
    lines: list[str] = []
    numbers: list[int] = []
    notes: list[str] = []
    current: list[str] = []
    line_number = first_line = 1
    touched = False  # the current line lost some text to a comment
    position = 0
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
        close = "*/" if mark == "/*" else "]]"
        end = text.find(close, position)
        body = text[position:end]
        if end < 0 or (mark == "[[" and _note_breaks_paragraph(body)):
            current.append(mark)  # unterminated: literal text, as in other parsers
            continue
        if mark == "[[":
            current.append(f"{NOTE_OPEN}{len(notes)}{NOTE_CLOSE}")
            notes.append(" ".join(body.split()))
        line_number += body.count("\n")
        touched = True
        position = end + 2
    _emit(lines, numbers, "".join(current), first_line, touched)
    return Cleaned(lines, numbers, notes)


def _note_breaks_paragraph(body: str) -> bool:
    return any(match.group(1) != "  " for match in _BLANK_IN_NOTE.finditer(body))


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
    styles: list[set[str]] = [set() for _ in chars]
    for delimiter, names in _EMPHASIS:
        _apply(delimiter, names, chars, escaped, styles)
    return "".join(chars), _spans(styles)


def _apply(
    delimiter: str,
    names: tuple[str, ...],
    chars: list[str],
    escaped: list[bool],
    styles: list[set[str]],
) -> None:
    quoted = re.escape(delimiter)
    pattern = re.compile(f"{quoted}(?=[^\\s{quoted}])(.+?)(?<=\\S){quoted}")
    start = 0
    while True:
        subject = "".join(_ESCAPED if esc else c for c, esc in zip(chars, escaped, strict=True))
        match = pattern.search(subject, start)
        if match is None:
            return
        if delimiter == "_" and _inside_word(subject, match.start(), match.end()):
            start = match.start() + 1
            continue
        size = len(delimiter)
        for position in range(match.start() + size, match.end() - size):
            styles[position].update(names)
        # Delete the closing delimiter first so the opening one's positions stay valid.
        for begin in (match.end() - size, match.start()):
            del chars[begin : begin + size], escaped[begin : begin + size]
            del styles[begin : begin + size]
        start = match.start()


def _inside_word(subject: str, start: int, end: int) -> bool:
    # snake_case_names are not underlined.
    before = subject[start - 1] if start > 0 else " "
    after = subject[end] if end < len(subject) else " "
    return before.isalnum() or after.isalnum()


def _spans(styles: list[set[str]]) -> tuple[Span, ...]:
    spans: list[Span] = []
    for style in ("bold", "italic", "underline"):
        start: int | None = None
        for position, names in enumerate([*styles, set()]):
            if style in names and start is None:
                start = position
            elif style not in names and start is not None:
                spans.append(Span(start, position, style))
                start = None
    return tuple(sorted(spans, key=lambda span: (span.start, span.style)))
