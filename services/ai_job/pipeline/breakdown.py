"""The structured breakdown of a script: scenes, beats, characters, and their screen time.

Durations come from words per minute. Speech (dialogue, lyrics, narration) is rigid; holds
(action, title cards, establishing shots, pauses) stretch or shrink first when the breakdown is
fitted to the project's target duration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from services.ai_job.pipeline.fountain import Element, Kind, Screenplay
from services.ai_job.pipeline.text import one_line, word_count

SCHEMA = "filmstudio.breakdown.v2"  # v2: document-order `elements`, no copies of beat text
# The studio's own narrator (prose, action read aloud, lyrics outside a dialogue block). A cue
# name never holds "(" (the parser keeps parentheses for extensions), so no script character,
# not even one called NARRATOR, can take this id.
NARRATOR = "(narrator)"
ESTABLISHING_S = 2.0  # the establishing shot that opens a headed scene
MIN_ACTION_S = 1.5
MIN_TITLE_CARD_S = 2.5
MIN_SPEECH_S = 0.8
LINE_PAUSE_S = 0.3  # breath between two spoken lines
PARENTHETICAL_PAUSE_S = 0.7  # "(pause)", "(beat)"
MIN_HOLD_SCALE = 0.3  # holds never shrink below 30 % of their natural length

# The prefix must end at a period, a space or the end: a forced `.ESTATE - DAY` is no EST.
_INT_EXT = re.compile(r"^(INT\.?/EXT|INT/EXT|I\.?/E|INT|EXT|EST)(?:\.|\s|$)\s*", re.IGNORECASE)
_TIMES = ("DAY", "NIGHT", "MORNING", "AFTERNOON", "EVENING", "DAWN", "DUSK", "SUNSET",
          "SUNRISE", "NOON", "MIDNIGHT", "TWILIGHT")  # fmt: skip
_TIME_WORD = re.compile(
    rf"\b({'|'.join(_TIMES)}|CONTINUOUS|LATER|SAME|MOMENTS LATER)\b", re.IGNORECASE
)
_SPOKEN = frozenset({"dialogue", "lyrics", "narration"})

# Where each screenplay element went: its position in the parse -> (scene, beat), with no beat
# for the heading that opened the scene. Elements that made nothing are absent.
Origins = dict[int, tuple[int, int | None]]


@dataclass
class Beat:
    """One unit of a scene: an action paragraph, a spoken line, a sung line or a title card."""

    index: int
    kind: str  # action | dialogue | lyrics | narration | title_card
    text: str
    line: int
    words: int
    speaker: str | None = None
    parenthetical: str | None = None
    extensions: list[str] = field(default_factory=list)
    dual_pair: int | None = None
    speech_s: float = 0.0
    hold_s: float = 0.0
    start_s: float = 0.0
    duration_s: float = 0.0

    @property
    def spoken(self) -> bool:
        """Tell whether a voice speaks this beat."""
        return self.kind in _SPOKEN


@dataclass
class Scene:
    """A scene: its heading parsed into INT/EXT, location and time of day, and its beats."""

    index: int
    heading: str | None
    line: int
    forced: bool = False
    scene_number: str | None = None
    int_ext: str | None = None
    location: str | None = None
    time_of_day: str | None = None
    lighting: str | None = None
    setting: str | None = None  # the place pictured: a forced heading keeps the previous one
    setting_int_ext: str | None = None
    page: int = 1
    section_path: list[str] = field(default_factory=list)
    synopses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    transition_out: str | None = None  # the scene's last transition
    transitions: list[str] = field(default_factory=list)  # all of them, verbatim, in order
    cues: list[str] = field(default_factory=list)  # every cue's name, lines or not
    beats: list[Beat] = field(default_factory=list)
    establishing_s: float = 0.0
    start_s: float = 0.0
    duration_s: float = 0.0

    @property
    def id(self) -> str:
        """Return the scene's stable identifier, e.g. `scene-003`."""
        return f"scene-{self.index:03d}"

    def add(self, kind: str, text: str, line: int) -> Beat:
        """Append a beat of `kind`."""
        beat = Beat(len(self.beats) + 1, kind, text, line, word_count(text))
        self.beats.append(beat)
        return beat

    @property
    def natural_s(self) -> float:
        """Return the scene's length before fitting."""
        return self.establishing_s + sum(beat.speech_s + beat.hold_s for beat in self.beats)

    @property
    def speakers(self) -> list[str]:
        """Return who speaks in the scene, in order of their first line."""
        return list(dict.fromkeys(b.speaker for b in self.beats if b.spoken and b.speaker))


def parse_heading(heading: str) -> tuple[str | None, str, str | None]:
    """Split `EXT. BRICK'S POOL - DAY` into ("EXT", "BRICK'S POOL", "DAY")."""
    int_ext, rest = None, heading.strip()
    if match := _INT_EXT.match(rest):
        prefix = match.group(1).upper().replace(".", "")
        int_ext = "INT/EXT" if "/" in prefix else prefix
        rest = rest[match.end() :]
    parts = [part.strip() for part in re.split(r"\s+--?\s+", rest.strip()) if part.strip()]
    if len(parts) > 1 and _is_time(parts[-1]):
        return int_ext, " - ".join(parts[:-1]), parts[-1]
    return int_ext, " - ".join(parts), None


def _is_time(text: str) -> bool:
    return _TIME_WORD.search(text) is not None


@dataclass
class _Block:
    """The dialogue block being read: its character cue and a pending parenthetical."""

    cue: Element | None = None
    parenthetical: str | None = None


def scenes_from_screenplay(play: Screenplay, origins: Origins | None = None) -> list[Scene]:
    """Group the elements of a screenplay into scenes of beats; fill `origins` if given."""
    origins = {} if origins is None else origins
    scenes: list[Scene] = []
    sections: list[str] = []
    pending_synopses: list[str] = []
    pending_notes: list[str] = []
    page = 1
    block = _Block()
    current: Scene | None = None
    for position, element in enumerate(play.elements):
        kind = element.kind
        if kind is Kind.SECTION:
            del sections[element.depth - 1 :]
            sections.extend([""] * (element.depth - 1 - len(sections)) + [element.text])
        elif kind is Kind.PAGE_BREAK:
            page += 1
        elif kind is Kind.SYNOPSIS:
            (current.synopses if current else pending_synopses).append(element.text)
        elif kind is Kind.NOTE:
            (current.notes if current else pending_notes).extend(element.notes)
        else:
            if kind is Kind.SCENE_HEADING or current is None:
                # Material before the first heading opens an untitled scene.
                current = _new_scene(scenes, element, page, sections)
                current.synopses, current.notes = pending_synopses, pending_notes
                pending_synopses, pending_notes = [], []
            current.notes.extend(element.notes)
            if kind is Kind.SCENE_HEADING:
                origins[position] = (current.index, None)
            elif beat := _add_element(current, element, block):
                origins[position] = (current.index, beat.index)
    return scenes


def _new_scene(scenes: list[Scene], element: Element, page: int, sections: list[str]) -> Scene:
    heading = element.text if element.kind is Kind.SCENE_HEADING else None
    scene = Scene(len(scenes) + 1, heading, element.line, page=page)
    scene.section_path = list(filter(None, sections))
    if heading is not None:
        scene.forced, scene.scene_number = element.forced, element.scene_number
        if element.forced:
            scene.location = heading
        else:
            scene.int_ext, scene.location, scene.time_of_day = parse_heading(heading)
    scenes.append(scene)
    return scene


def _add_element(scene: Scene, element: Element, block: _Block) -> Beat | None:
    """Add the beat `element` makes and return it, or remember what the next beat needs."""
    kind, text = element.kind, element.text.strip("\n")
    if kind is Kind.CHARACTER:
        block.cue, block.parenthetical = element, None
        if element.text not in scene.cues:
            scene.cues.append(element.text)
    elif kind is Kind.PARENTHETICAL:
        block.parenthetical = text.strip("()").strip()
    elif kind is Kind.TRANSITION:
        scene.transitions.append(text)
        scene.transition_out = text
    elif not text.strip():
        return None
    elif kind is Kind.ACTION:
        return scene.add("action", text, element.line)
    elif kind is Kind.CENTERED:
        return scene.add("title_card", text, element.line)
    elif kind in {Kind.DIALOGUE, Kind.LYRICS}:
        cue = block.cue if element.speaker else None
        beat = scene.add("dialogue" if kind is Kind.DIALOGUE else "lyrics", text, element.line)
        beat.speaker = element.speaker or NARRATOR
        beat.parenthetical, block.parenthetical = block.parenthetical, None
        beat.extensions = list(cue.extensions) if cue else []
        beat.dual_pair = cue.dual_pair if cue else None
        return beat
    return None


def estimate(scenes: list[Scene], words_per_minute: int) -> None:
    """Fill in each beat's natural speech and hold times from the reading pace."""
    seconds_per_word = 60.0 / words_per_minute
    previous: Scene | None = None
    for scene in scenes:
        scene.establishing_s = ESTABLISHING_S if scene.heading else 0.0
        scene.lighting = _lighting(scene.time_of_day) or (previous.lighting if previous else None)
        if scene.int_ext or previous is None:
            scene.setting, scene.setting_int_ext = scene.location, scene.int_ext
        else:
            scene.setting, scene.setting_int_ext = previous.setting, previous.setting_int_ext
        previous = scene
        for beat in scene.beats:
            spoken = max(MIN_SPEECH_S, beat.words * seconds_per_word)
            if beat.spoken:
                pause = PARENTHETICAL_PAUSE_S if _is_pause(beat.parenthetical) else 0.0
                beat.speech_s, beat.hold_s = spoken, LINE_PAUSE_S + pause
            elif beat.kind == "title_card":
                beat.hold_s = max(MIN_TITLE_CARD_S, spoken)
            else:
                beat.hold_s = max(MIN_ACTION_S, spoken)


def _is_pause(parenthetical: str | None) -> bool:
    return parenthetical is not None and one_line(parenthetical).lower() in {"pause", "beat"}


def _lighting(time_of_day: str | None) -> str | None:
    match = _TIME_WORD.search(time_of_day or "")
    return match.group(1).upper() if match and match.group(1).upper() in _TIMES else None


@dataclass(frozen=True)
class Fit:
    """How the natural timeline was scaled: speech and holds separately."""

    natural_s: float
    target_s: float | None
    speech_scale: float
    hold_scale: float
    warnings: tuple[str, ...]


def fit(scenes: list[Scene], target_s: float | None) -> Fit:
    """Scale holds (then speech, if it must) so the scenes add up to `target_s` exactly."""
    speech = sum(beat.speech_s for scene in scenes for beat in scene.beats)
    holds = sum(scene.natural_s for scene in scenes) - speech
    natural = speech + holds
    speech_scale = hold_scale = 1.0
    warnings: list[str] = []
    if target_s is not None and natural > 0:
        if holds <= 0:
            speech_scale = target_s / speech
        elif target_s >= speech + MIN_HOLD_SCALE * holds:
            hold_scale = (target_s - speech) / holds
        else:
            # Holds are already at their floor: everything shrinks together.
            speech_scale = target_s / (speech + MIN_HOLD_SCALE * holds)
            hold_scale = MIN_HOLD_SCALE * speech_scale
        if speech_scale < 1.0:
            warnings.append(
                f"the target of {target_s:g} s is shorter than the dialogue: speech would "
                f"have to run {1 / speech_scale:.2f}x faster"
            )
    clock = 0.0
    for scene in scenes:
        scene.start_s = clock
        offset = scene.establishing_s * hold_scale
        for beat in scene.beats:
            beat.start_s = offset
            beat.duration_s = beat.speech_s * speech_scale + beat.hold_s * hold_scale
            offset += beat.duration_s
        scene.duration_s = offset
        clock += offset
    return Fit(natural, target_s, speech_scale, hold_scale, tuple(warnings))
