"""The shot list: each scene cut into shots; each shot's image prompt comes from scene and style.

The breakdown stores no prompts and no descriptions (they would repeat the style, the place and
the beats' text in every shot); the image stage derives each description from the shot's beats
with `describe_shot` and composes the prompt with `image_prompt`. A shot that carries its own
`description` or `image_prompt` (a writer's edit) keeps it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.ai_job.pipeline.breakdown import Beat, Scene
from services.ai_job.pipeline.text import display_name, one_line, soften_shouting, truncate_words

STYLE_PRESETS = {
    "cinematic": "cinematic film still, anamorphic lens, shallow depth of field, film grain",
    "noir": "film noir still, high-contrast black and white, hard shadows",
    "anime": "anime key visual, cel shading, vibrant colors, detailed background",
    "documentary": "documentary photograph, natural light, handheld camera, realistic",
    "watercolor": "watercolor illustration, soft washes, loose ink lines",
    "comic": "comic book panel, bold ink outlines, halftone shading",
    "animation": "3D animated film still, soft global illumination, stylized characters",
    "storyboard": "black and white storyboard sketch, pencil on paper, clean lines",
}
_FRAMING = {
    "establishing": "Establishing wide shot",
    "wide": "Wide shot",
    "medium": "Medium shot",
    "close-up": "Close-up",
    "two-shot": "Two-shot",
    "pov": "Point-of-view shot",
    "title-card": "Title card",
}
_LIGHT = {
    "DAY": "bright daylight",
    "NIGHT": "night, low-key lighting",
    "MORNING": "soft morning light",
    "AFTERNOON": "warm afternoon light",
    "EVENING": "golden evening light",
    "DAWN": "pale dawn light",
    "DUSK": "dusk, blue hour",
    "SUNSET": "sunset, golden hour",
    "SUNRISE": "sunrise, golden hour",
    "NOON": "harsh midday sun",
    "MIDNIGHT": "midnight darkness, practical lights",
    "TWILIGHT": "twilight, blue hour",
}
_SETTING = {"INT": "interior", "EXT": "exterior", "EST": "exterior", "INT/EXT": "interior/exterior"}
_COVERAGE = ("wide", "medium", "close-up")
MIN_SHOT_S = 1.5
MAX_SHOT_S = 8.0
MAX_PROMPT_CHARS = 420
# At most four name words: an unbounded repeat backtracks quadratically on shouted paragraphs.
_NAME_WORD = r"[A-Z][A-Z'.-]{1,30}"
_INTRO = re.compile(rf"\b({_NAME_WORD}(?:\s{_NAME_WORD}){{0,3}}),\s([^,.;:!?]{{3,60}})[,.;]")


@dataclass
class Shot:
    """One shot: when it runs, which beats it covers, and who is in it."""

    id: str
    scene: int
    kind: str
    start_s: float
    duration_s: float
    beats: list[int] = field(default_factory=list)
    characters: list[str] = field(default_factory=list)


def style_phrase(style: str) -> str:
    """Return the prompt prefix of a style preset, or the free-form style itself."""
    return STYLE_PRESETS.get(style.lower(), f"{style}, film still")


def describe_characters(scenes: list[Scene], names: list[str]) -> dict[str, str]:
    """Find each character's introduction in the action (`BRICK BRADDOCK, retired cop,`)."""
    found: dict[str, str] = {}
    for beat in (b for scene in scenes for b in scene.beats if b.kind == "action"):
        for match in _INTRO.finditer(one_line(beat.text)):
            introduced = match.group(1).split()
            description = re.sub(r"^(his|her|their)\s", "a ", match.group(2).strip())
            for name in names:
                if name not in found and set(name.upper().split()) <= set(introduced):
                    found[name] = description
    return found


def scene_shots(scene: Scene, people: dict[str, str]) -> list[Shot]:
    """Cut one scene into shots of MIN_SHOT_S to MAX_SHOT_S."""
    present = _present(scene, list(people))
    pov = "POV" in (scene.heading or "").upper().split()
    drafts: list[Shot] = []
    opening = scene.beats[0].start_s if scene.beats else scene.duration_s
    titles_first = bool(scene.beats) and scene.beats[0].kind == "title_card"
    if scene.heading and opening > 0 and not titles_first:
        drafts.append(Shot("", scene.index, "pov" if pov else "establishing", 0.0, opening))
    for beat in scene.beats:
        kind = _kind(beat, present, pov)
        previous = drafts[-1] if drafts else None
        absorb = previous is not None and (
            (len(drafts) == 1 and beat.index == 1 and beat.kind == "action")
            or (kind == "two-shot" and previous.kind in {"close-up", "two-shot"})
        )
        if previous is not None and absorb:
            previous.kind = "two-shot" if kind == "two-shot" else previous.kind
            previous.duration_s += beat.duration_s
            previous.beats.append(beat.index)
            continue
        drafts.append(Shot("", scene.index, kind, beat.start_s, beat.duration_s, [beat.index]))
    if titles_first:  # a title card opens the scene: it holds through the opening too
        drafts[0].start_s, drafts[0].duration_s = 0.0, drafts[0].duration_s + opening
    beats = {beat.index: beat for beat in scene.beats}
    drafts = _merge_short(drafts)
    for shot in drafts:  # before splitting: the parts of a long shot share all of this
        covered = [beats[index] for index in shot.beats]
        shot.characters = _characters(covered, present, shot.kind)
        if shot.kind == "close-up" and len(shot.characters) > 1:
            shot.kind = "two-shot" if len(shot.characters) == 2 else "medium"
    drafts = _split_long(drafts, beats)
    for number, shot in enumerate(drafts, start=1):
        shot.id = f"{scene.id}-shot-{number:02d}"
        shot.start_s = round(scene.start_s + shot.start_s, 3)
        shot.duration_s = round(shot.duration_s, 3)
    return drafts


def _present(scene: Scene, names: list[str]) -> list[str]:
    action = " ".join(b.text for b in scene.beats if b.kind == "action").upper()
    mentioned = [n for n in names if re.search(rf"\b{re.escape(n.upper())}\b", action)]
    return list(dict.fromkeys([*scene.speakers, *mentioned]))


def _kind(beat: Beat, present: list[str], pov: bool) -> str:
    if beat.kind == "title_card":
        return "title-card"
    if pov:
        return "pov"
    if beat.kind in {"dialogue", "lyrics"}:
        return "two-shot" if beat.dual_pair is not None else "close-up"
    upper = beat.text.upper()
    crowd = sum(1 for name in present if re.search(rf"\b{re.escape(name.upper())}\b", upper))
    return "wide" if crowd >= 2 or beat.kind == "narration" else "medium"


def _merge_short(drafts: list[Shot]) -> list[Shot]:
    """Fold shots shorter than MIN_SHOT_S into a neighbour, never past MAX_SHOT_S."""
    merged: list[Shot] = []
    for shot in drafts:
        previous = merged[-1] if merged else None
        fits = (
            previous is not None
            and previous.duration_s + shot.duration_s <= MAX_SHOT_S
            and "title-card" not in (previous.kind, shot.kind)
        )
        if previous is not None and fits and shot.duration_s < MIN_SHOT_S:
            previous.duration_s += shot.duration_s
            previous.beats.extend(shot.beats)
        elif previous is not None and fits and previous.duration_s < MIN_SHOT_S:
            shot.start_s, shot.duration_s = previous.start_s, previous.duration_s + shot.duration_s
            shot.beats[:0] = previous.beats
            merged[-1] = shot
        else:
            merged.append(shot)
    return merged


def _split_long(drafts: list[Shot], beats: dict[int, Beat]) -> list[Shot]:
    """Cut shots longer than MAX_SHOT_S into equal parts that change the framing."""
    out: list[Shot] = []
    for shot in drafts:
        parts = math.ceil(shot.duration_s / MAX_SHOT_S - 1e-9)
        if parts <= 1 or shot.kind == "title-card":
            out.append(shot)
            continue
        length = shot.duration_s / parts
        for part in range(parts):
            kind = shot.kind if part == 0 else _COVERAGE[part % len(_COVERAGE)]
            start = shot.start_s + part * length
            during = [
                index
                for index in shot.beats
                if beats[index].start_s < start + length
                and beats[index].start_s + beats[index].duration_s > start
            ]
            piece = Shot("", shot.scene, kind, start, length, during or shot.beats[-1:])
            piece.characters = list(shot.characters)
            out.append(piece)
    return out


def _characters(beats: list[Beat], present: list[str], kind: str) -> list[str]:
    speakers = [b.speaker for b in beats if b.speaker and b.speaker in present]
    text = " ".join(b.text for b in beats if b.kind == "action").upper()
    seen = [n for n in present if re.search(rf"\b{re.escape(n.upper())}\b", text)]
    chosen = list(dict.fromkeys([*speakers, *seen]))
    return chosen or (present if kind in {"establishing", "wide"} else [])


def describe_shot(kind: str, beats: Sequence[Mapping[str, Any]], place: str) -> str:
    """Say what a shot shows, from the breakdown's beats it covers (the place when none say)."""
    if kind == "title-card":
        return " / ".join(one_line(str(b.get("text") or "")) for b in beats)
    action = next((b for b in beats if b.get("kind") in {"action", "narration"}), None)
    if action is not None:  # only the start matters, however long the paragraph
        return truncate_words(soften_shouting(str(action.get("text") or "")[:400]), 200)
    spoken = [b for b in beats if b.get("speaker")]
    if spoken:
        who = " and ".join(dict.fromkeys(display_name(str(b["speaker"])) for b in spoken))
        manners = (str(b["parenthetical"]) for b in spoken if b.get("parenthetical"))
        manner = next((m for m in manners if m.lower() not in {"pause", "beat"}), None)
        return f"{who} speaking" + (f", {manner}" if manner else "")
    return soften_shouting(place)


def image_prompt(
    style: str,
    kind: str,
    description: str,
    cast: list[tuple[str, str | None]],
    *,
    int_ext: str | None,
    setting: str | None,
    lighting: str | None,
) -> str:
    """Compose a shot's image prompt: style, framing and cast, place and light, what happens."""
    if kind == "title-card":
        return (
            f'{style_phrase(style)}. Title card: the words "{description}" in bold type, '
            "plain backdrop"
        )
    people = ", ".join(
        f"{display_name(name)} ({about})" if about else display_name(name) for name, about in cast
    )
    framing = _FRAMING.get(kind, _FRAMING["wide"]) + (f" of {people}" if people else "")
    place = ", ".join(
        part
        for part in (
            _SETTING.get((int_ext or "").upper()),
            soften_shouting(setting) if setting else None,
            _LIGHT.get((lighting or "").upper()),
        )
        if part
    )
    parts = [style_phrase(style), framing, place[:1].upper() + place[1:], description]
    return truncate_words(". ".join(part.rstrip(".") for part in parts if part), MAX_PROMPT_CHARS)
