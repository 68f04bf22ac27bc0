"""A Fountain 1.1 parser (fountain.io/syntax): text in, a title page and typed elements out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from services.ai_job.pipeline.fountain_text import (
    Span,
    note_indices,
    parse_emphasis,
    strip_comments,
    without_notes,
)

TITLE_KEYS = frozenset(
    {"title", "credit", "author", "authors", "source", "draft date", "date", "contact",
     "copyright", "notes", "revision", "episode", "format"}
)  # fmt: skip
_TITLE_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9 _'-]{0,39}):(.*)")
# The spec's INT, EXT, EST, INT./EXT, INT/EXT and I/E, and I./E. (the early parser's tests).
_SCENE_PREFIX = re.compile(r"(?:INT\.?/EXT|I\.?/E|INT|EXT|EST)(?:\.|\s)", re.IGNORECASE)
_FORCED_HEADING = re.compile(r"\.[A-Za-z0-9]")
_SCENE_NUMBER = re.compile(r"\s*#([\w.-]+)#\s*$")
# The name runs to the first `(` or `^`. Possessive quantifiers keep a cue of any length linear:
# a lazy name made a long run of spaces quadratic.
_CUE = re.compile(r"(?P<name>[^(^]++)(?P<ext>(?:\([^)]*+\)\s*+)*+)(?P<dual>\^)?")
_EXTENSION = re.compile(r"\(([^)]*)\)")
_PAGE_BREAK = re.compile(r"={3,}")
# Transitions that do not end in TO:, as the early parser takes them.
BARE_TRANSITIONS = frozenset({"FADE OUT.", "FADE TO BLACK.", "CUT TO BLACK."})
_CENTERED = re.compile(r">\s*(.*?)\s*<")


class Kind(StrEnum):
    """The element types of the Fountain syntax."""

    SCENE_HEADING = "scene_heading"
    ACTION = "action"
    CHARACTER = "character"
    DIALOGUE = "dialogue"
    PARENTHETICAL = "parenthetical"
    LYRICS = "lyrics"
    TRANSITION = "transition"
    CENTERED = "centered"
    SECTION = "section"
    SYNOPSIS = "synopsis"
    PAGE_BREAK = "page_break"
    NOTE = "note"


@dataclass
class Element:
    """One screenplay element; `speaker` is set on every element of a dialogue block."""

    kind: Kind
    text: str
    line: int
    emphasis: tuple[Span, ...] = ()
    notes: list[str] = field(default_factory=list)
    forced: bool = False
    scene_number: str | None = None
    depth: int = 0
    speaker: str | None = None
    extensions: tuple[str, ...] = ()
    dual_pair: int | None = None


@dataclass
class Screenplay:
    """A parsed Fountain document."""

    title_page: dict[str, str]
    elements: list[Element]
    notes: list[str]
    boneyard: list[tuple[int, str]] = field(default_factory=list)

    @property
    def has_markup(self) -> bool:
        """Tell whether the text uses Fountain's writer markup (notes, boneyard, outline)."""
        outline = {Kind.SECTION, Kind.SYNOPSIS, Kind.NOTE}
        return bool(self.notes or self.boneyard) or any(e.kind in outline for e in self.elements)

    def of_kind(self, kind: Kind) -> list[Element]:
        """Return the elements of one kind, in order."""
        return [element for element in self.elements if element.kind is kind]


_INSIDE_BLOCK = frozenset({Kind.DIALOGUE, Kind.PARENTHETICAL, Kind.LYRICS, Kind.NOTE})


def parse_fountain(text: str) -> Screenplay:
    """Parse a Fountain document; every input parses (unknown text is action)."""
    cleaned = strip_comments(text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    play = _Parser(cleaned.lines, cleaned.numbers, cleaned.notes).parse()
    play.boneyard = cleaned.boneyard
    return play


def _is_transition(line: str) -> bool:
    # Not stripped on the right: spaces after the colon are the spec's way to make it action.
    text = line.lstrip()
    return _is_upper(text) and (text.endswith("TO:") or text in BARE_TRANSITIONS)


def _is_upper(text: str) -> bool:
    return any(char.isalpha() for char in text) and text == text.upper()


class _Parser:
    def __init__(self, lines: list[str], numbers: list[int], notes: list[str]) -> None:
        self.lines, self.numbers = _attach_inline_notes(lines, numbers)
        self.all_notes = notes
        self.elements: list[Element] = []
        self.title_page: dict[str, str] = {}
        self.speaker: str | None = None  # inside a dialogue block
        self.dual_pairs = 0
        # The multi-line element still taking lines; its lines are joined when it closes, since
        # growing one string line by line is quadratic on a long paragraph.
        self._open: Element | None = None
        self._parts: list[str] = []
        self._spans: list[Span] = []
        self._length = 0

    @property
    def open(self) -> Element | None:
        return self._open

    @open.setter
    def open(self, element: Element | None) -> None:
        if self._open is not None and len(self._parts) > 1:
            self._open.text = "\n".join(self._parts)
            self._open.emphasis = tuple(self._spans)
        self._open = element
        self._parts = [element.text] if element else []
        self._spans = list(element.emphasis) if element else []
        self._length = len(element.text) if element else 0

    def parse(self) -> Screenplay:
        index = self._title_page()
        previous_blank = True
        while index < len(self.lines):
            raw = self.lines[index]
            line = without_notes(raw)
            if line.strip() or (self.speaker and line == "  "):
                self._line(index, raw, line, previous_blank)
                previous_blank = False
            elif note_indices(raw):
                # A paragraph of notes only: kept as a NOTE, invisible to the blank-line rules.
                note = self._add(Kind.NOTE, "", self.numbers[index], raw)
                note.text = "\n".join(note.notes)
            else:
                self.speaker, self.open = None, None
                previous_blank = True
            index += 1
        self.open = None
        return Screenplay(self.title_page, self.elements, self.all_notes)

    def _title_page(self) -> int:
        index = 0
        while index < len(self.lines) and not self.lines[index].strip():
            index += 1
        first = _TITLE_FIELD.fullmatch(self.lines[index]) if index < len(self.lines) else None
        if first is None or first.group(1).strip().lower() not in TITLE_KEYS:
            return 0
        key = ""
        values: dict[str, list[str]] = {}
        while index < len(self.lines) and self.lines[index].strip():
            line = without_notes(self.lines[index])
            match = _TITLE_FIELD.fullmatch(line)
            if match and not line[:1].isspace():
                key = match.group(1).strip().lower()
                values[key] = [parse_emphasis(match.group(2).strip())[0]]
            elif key and line[:1].isspace():
                values[key].append(parse_emphasis(line.strip())[0])
            else:
                break  # an unindented line that is not `Key: value` ends the title page
            index += 1
        self.title_page = {key: "\n".join(filter(None, parts)) for key, parts in values.items()}
        return index

    def _blank(self, index: int) -> bool:
        return index >= len(self.lines) or not without_notes(self.lines[index]).strip()

    def _line(self, index: int, raw: str, line: str, previous_blank: bool) -> None:
        number = self.numbers[index]
        stripped = line.strip()
        if self.speaker:
            self._dialogue_line(raw, stripped, number)
            return
        if _PAGE_BREAK.fullmatch(stripped):
            self._add(Kind.PAGE_BREAK, "", number, raw)
            self.open = None
            return
        if self._prefixed(raw, stripped, number):
            return
        next_blank = self._blank(index + 1)
        if previous_blank and self._standalone(raw, line, number, next_blank):
            return
        if self.open is not None and self.open.kind is Kind.ACTION:
            self._extend(self.open, line.rstrip(), raw)
        else:
            self.open = self._add(Kind.ACTION, line.rstrip(), number, raw)

    def _prefixed(self, raw: str, stripped: str, number: int) -> bool:
        """Handle the elements a leading character forces, blank line before or not."""
        first = stripped[:1]
        if first == "!":
            if self.open is not None and self.open.kind is Kind.ACTION:
                self._extend(self.open, stripped[1:])
            else:
                self.open = self._add(Kind.ACTION, stripped[1:], number, raw, forced=True)
            return True
        if first == "#":
            depth = len(stripped) - len(stripped.lstrip("#"))
            self._add(Kind.SECTION, stripped[depth:].strip(), number, raw, depth=depth)
        elif first == "=":
            self._add(Kind.SYNOPSIS, stripped[1:].strip(), number, raw)
        elif first == ">" and (centered := _CENTERED.fullmatch(stripped)):
            self._continue(Kind.CENTERED, centered.group(1), number, raw)
            return True
        elif first == ">":
            self._add(Kind.TRANSITION, stripped[1:].strip(), number, raw, forced=True)
        elif first == "~":
            self._continue(Kind.LYRICS, stripped[1:].strip(), number, raw)
            return True
        else:
            return False
        self.open = None
        return True

    def _standalone(self, raw: str, line: str, number: int, next_blank: bool) -> bool:
        """Handle the elements that need a blank line before them (and after, but for a cue)."""
        stripped = line.strip()
        forced = _FORCED_HEADING.match(stripped) is not None
        if forced or _SCENE_PREFIX.match(stripped):
            if not next_blank:
                return False  # action: a line shaped like a heading never names a speaker
            self._heading(stripped[1:] if forced else stripped, number, raw, forced=forced)
        elif next_blank and _is_transition(line):
            self._add(Kind.TRANSITION, stripped, number, raw)
        elif not next_blank and (stripped.startswith("@") or self._is_cue(stripped)):
            self._cue(stripped, number, raw)
            return True
        else:
            return False
        self.open = None
        return True

    @staticmethod
    def _is_cue(stripped: str) -> bool:
        match = _CUE.fullmatch(stripped)
        if match is None or stripped.endswith("TO:") or stripped in BARE_TRANSITIONS:
            return False
        return _is_upper(match.group("name"))

    def _heading(self, text: str, number: int, raw: str, *, forced: bool) -> None:
        scene_number = None
        if match := _SCENE_NUMBER.search(text):
            scene_number, text = match.group(1), text[: match.start()]
        self._add(Kind.SCENE_HEADING, text.strip(), number, raw, forced=forced)
        self.elements[-1].scene_number = scene_number

    def _cue(self, stripped: str, number: int, raw: str) -> None:
        forced = stripped.startswith("@")
        match = _CUE.fullmatch(stripped[1:] if forced else stripped)
        # Without a match (a stray `(` or `^`) brackets are dropped, so that no name can look
        # like the studio's narrator id, `(narrator)`.
        name = match.group("name") if match else re.sub(r"[()^]", " ", stripped[1:])
        name = " ".join(name.split())
        extensions = tuple(
            " ".join(ext.split()).upper()
            for ext in _EXTENSION.findall(match.group("ext") if match else "")
        )
        cue = self._add(Kind.CHARACTER, name, number, raw, forced=forced)
        cue.speaker, cue.extensions = name, extensions
        if match and match.group("dual"):
            self._pair_with_previous(cue)
        self.speaker, self.open = name, None

    def _pair_with_previous(self, cue: Element) -> None:
        index = len(self.elements) - 2
        while index >= 0 and self.elements[index].kind in _INSIDE_BLOCK:
            index -= 1
        if index >= 0 and self.elements[index].kind is Kind.CHARACTER:
            self.elements[index].dual_pair = cue.dual_pair = self.dual_pairs
            self.dual_pairs += 1

    def _dialogue_line(self, raw: str, stripped: str, number: int) -> None:
        if stripped.startswith("(") and stripped.endswith(")"):
            element = self._add(Kind.PARENTHETICAL, stripped, number, raw)
            self.open = None
        elif stripped.startswith("~"):
            element = self._add(Kind.LYRICS, stripped[1:].strip(), number, raw)
            self.open = None
        elif self.open is not None and self.open.kind is Kind.DIALOGUE:
            self._extend(self.open, stripped, raw)
            return
        else:
            element = self.open = self._add(Kind.DIALOGUE, stripped, number, raw)
        element.speaker = self.speaker

    def _continue(self, kind: Kind, text: str, number: int, raw: str) -> None:
        if self.open is not None and self.open.kind is kind:
            self._extend(self.open, text, raw)
        else:
            self.open = self._add(kind, text, number, raw)

    def _add(
        self, kind: Kind, text: str, number: int, raw: str, *, forced: bool = False, depth: int = 0
    ) -> Element:
        plain, emphasis = parse_emphasis(without_notes(text))
        notes = [self.all_notes[i] for i in note_indices(raw)]
        element = Element(kind, plain, number, emphasis, notes, forced=forced, depth=depth)
        self.elements.append(element)
        return element

    def _extend(self, element: Element, text: str, raw: str | None = None) -> None:
        assert element is self._open
        plain, emphasis = parse_emphasis(without_notes(text))
        offset = self._length + 1
        self._parts.append(plain)
        self._spans.extend(Span(s.start + offset, s.end + offset, s.style) for s in emphasis)
        self._length = offset + len(plain)
        element.notes.extend(self.all_notes[i] for i in note_indices(raw or text))


def _attach_inline_notes(lines: list[str], numbers: list[int]) -> tuple[list[str], list[int]]:
    """Fold a line holding only notes into its paragraph's previous line, unless it stands alone.

    Standalone note paragraphs become NOTE elements via the marker that stays on their line.
    """
    out_lines: list[str] = []
    out_numbers: list[int] = []
    for index, line in enumerate(lines):
        only_notes = bool(note_indices(line)) and not without_notes(line).strip()
        before_blank = not out_lines or not without_notes(out_lines[-1]).strip()
        if only_notes and not before_blank:
            out_lines[-1] += line.strip()
            continue
        out_lines.append(line)
        out_numbers.append(numbers[index])
    return out_lines, out_numbers
