"""Stage 1, script analysis: a Fountain screenplay or prose in, a JSON breakdown artifact out."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from typing import Any

from services.ai_job.pipeline.breakdown import (
    NARRATOR,
    SCHEMA,
    Beat,
    Origins,
    Scene,
    estimate,
    fit,
    scenes_from_screenplay,
)
from services.ai_job.pipeline.fountain import Kind, Screenplay, parse_fountain
from services.ai_job.pipeline.ports import ArtifactStore, InputViolation, StageInputError
from services.ai_job.pipeline.prose import scenes_from_prose
from services.ai_job.pipeline.script_elements import fountain_elements, prose_elements
from services.ai_job.pipeline.shots import STYLE_PRESETS, Shot, describe_characters, scene_shots
from services.ai_job.pipeline.stage import (
    CancelCheck,
    Progress,
    ProgressCallback,
    never_cancelled,
    no_progress,
    put_json,
    stage_key,
)

log = logging.getLogger(__name__)

MAX_SCRIPT_BYTES = 1024 * 1024  # a 120-page feature is about 200 KB
MAX_TARGET_S = 2 * 3600.0  # what the voice stage accepts
MODES = ("auto", "fountain", "prose")
_STYLE = re.compile(r"[\w][\w ,'&-]{0,59}")


@dataclass(frozen=True)
class AnalysisOptions:
    """How to read the script and how long the film should be."""

    mode: str = "auto"
    style: str = "cinematic"
    target_duration_s: float | None = None
    words_per_minute: int = 150

    def validate(self) -> None:
        """Raise StageInputError naming every bad option."""
        bad: list[InputViolation] = []
        if self.mode not in MODES:
            bad.append(InputViolation("mode", f"must be one of {', '.join(MODES)}"))
        if not _STYLE.fullmatch(self.style):
            presets = ", ".join(STYLE_PRESETS)
            bad.append(InputViolation("style", f"a preset ({presets}) or up to 60 plain words"))
        target = self.target_duration_s
        if target is not None and not 1.0 <= target <= MAX_TARGET_S:
            bad.append(InputViolation("target_duration", f"must be 1 to {MAX_TARGET_S:g} s"))
        if not 80 <= self.words_per_minute <= 300:
            bad.append(InputViolation("words_per_minute", "must be 80 to 300"))
        if bad:
            raise StageInputError(bad)


@dataclass(frozen=True)
class AnalysisResult:
    """The breakdown document and the keys of the artifacts written."""

    breakdown: dict[str, Any]
    artifacts: dict[str, str]


def _reject(description: str) -> StageInputError:
    return StageInputError.field("script", description, "INVALID_SCRIPT")


def decode_script(script: str | bytes) -> str:
    """Return the script as text, refusing binary, garbage, empty or oversized input."""
    if isinstance(script, str):
        try:
            script = script.encode()
        except UnicodeEncodeError:  # lone surrogates, e.g. from a careless JSON client
            raise _reject("is not valid Unicode text") from None
    size = len(script)
    if size > MAX_SCRIPT_BYTES:
        raise _reject(f"is {size} bytes; the limit is {MAX_SCRIPT_BYTES} bytes")
    if b"\x00" in script:
        raise _reject("is binary data, not text")
    try:
        decoded = script.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _reject(f"is not UTF-8 text (bad byte at offset {error.start})") from None
    text = decoded.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    visible = [char for char in text if not char.isspace()]
    if not visible:
        raise _reject("is empty")
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\f")
    if controls > len(text) // 200:
        raise _reject("contains control characters: it looks like binary data")
    letters = sum(1 for char in visible if char.isalpha())
    long_tokens = sum(len(token) for token in text.split() if len(token) > 40)
    mangled = text.count("\ufffd") > len(visible) // 1000  # decoded with the wrong charset
    if letters < 0.5 * len(visible) or long_tokens > 0.2 * len(visible) or mangled:
        raise _reject("does not look like a screenplay or prose: too few words")
    return text


def detect_mode(play: Screenplay) -> str:
    """Return `fountain` if the text uses screenplay structure or markup, else `prose`."""
    structural = {Kind.SCENE_HEADING, Kind.CHARACTER, Kind.TRANSITION}
    if play.title_page or play.has_markup:
        return "fountain"
    if any(element.kind in structural for element in play.elements):
        return "fountain"
    return "prose"


def analyse_script(
    text: str, options: AnalysisOptions = AnalysisOptions(), progress: Progress | None = None
) -> dict[str, Any]:
    """Build the breakdown document of an already-decoded script."""
    options.validate()
    progress = progress or Progress("script_analysis", no_progress, never_cancelled)
    play = parse_fountain(text)
    mode = detect_mode(play) if options.mode == "auto" else options.mode
    origins: Origins = {}
    if mode == "fountain":
        scenes = scenes_from_screenplay(play, origins)
        elements = fountain_elements(play, origins)
    else:
        scenes = scenes_from_prose(text)
        elements = prose_elements(scenes)
    # An outline (sections, synopses, notes) with nothing to film yet still gives a breakdown,
    # with no scenes; a document with nothing at all is refused.
    outline = mode == "fountain" and (play.elements or play.notes or play.boneyard)
    if not outline and not any(scene.beats for scene in scenes):
        raise _reject("has no action, dialogue or narration to film")
    progress.report(0.2, f"parsed {len(scenes)} scenes")
    progress.checkpoint()
    estimate(scenes, options.words_per_minute)
    timing = fit(scenes, options.target_duration_s)
    characters = _characters(scenes)
    people = describe_characters(scenes, [c["name"] for c in characters])
    for character in characters:
        character["description"] = people.get(character["name"])
    shots: list[Shot] = []
    scene_documents = []
    for number, scene in enumerate(scenes, start=1):
        scene_shot_list = scene_shots(scene, people)
        shots.extend(scene_shot_list)
        scene_documents.append(_scene_document(scene))
        progress.step(number, len(scenes), 0.2, 0.95, f"scene {number} of {len(scenes)}")
    document: dict[str, Any] = _rounded(
        {
            "schema": SCHEMA,
            "mode": mode,
            "source": {"sha256": hashlib.sha256(text.encode()).hexdigest(), "chars": len(text)},
            "title": one_title(play, scenes),
            "title_page": play.title_page,
            "studio_narrator": NARRATOR,  # the speaker id of narration the studio adds
            "style": options.style,
            "words_per_minute": options.words_per_minute,
            "timing": {**asdict(timing), "duration_s": sum(s.duration_s for s in scenes)},
            "stats": {
                "scenes": len(scenes),
                "speaking_characters": sum(1 for c in characters if c["line_count"]),
                "dialogue_lines": sum(c["line_count"] for c in characters),
                "words": sum(beat.words for scene in scenes for beat in scene.beats),
                "shots": len(shots),
                "pages": 1 + len(play.of_kind(Kind.PAGE_BREAK)),
            },
            "elements": elements,
            "scenes": scene_documents,
            "characters": characters,
            "dual_dialogue": _dual_pairs(scenes),
            "shots": [_present(_fields(shot)) for shot in shots],
            "notes": play.notes,
        }
    )
    return document


def one_title(play: Screenplay, scenes: list[Scene]) -> str:
    """Return the title from the title page, else the first heading, else `Untitled`."""
    title = " ".join(play.title_page.get("title", "").split())
    return title or next((scene.heading for scene in scenes if scene.heading), None) or "Untitled"


def _scene_document(scene: Scene) -> dict[str, Any]:
    document = _fields(scene, skip="beats")
    document.update(
        id=scene.id,
        characters=scene.speakers,
        natural_s=scene.natural_s,
        words=sum(beat.words for beat in scene.beats),
        beats=[_beat_document(beat) for beat in scene.beats],
    )
    return document


def _beat_document(beat: Beat) -> dict[str, Any]:
    # Words and the speech/hold split are the timing plan's working; duration_s is its answer.
    document = _present(_fields(beat, skip=_BEAT_WORKINGS))
    if beat.spoken:
        document["spoken"] = True
    return document


_BEAT_WORKINGS = frozenset({"words", "speech_s", "hold_s"})


def _fields(item: Any, skip: str | frozenset[str] = "") -> dict[str, Any]:
    # dataclasses.asdict deep-copies every nested value; _rounded copies once anyway.
    skipped = {skip} if isinstance(skip, str) else skip
    return {f.name: getattr(item, f.name) for f in fields(item) if f.name not in skipped}


# A beat's and a shot's optional fields are omitted at their default (no speaker, no
# parenthetical, not spoken...): a 1 MB script has some 17,000 beats and 16,000 shots.
_REQUIRED = frozenset({"index", "kind", "text", "line", "start_s", "duration_s", "id", "scene"})


def _present(document: dict[str, Any]) -> dict[str, Any]:
    """Drop the fields at their default (None, False, empty), except the required ones."""
    return {key: value for key, value in document.items() if key in _REQUIRED or _set(value)}


def _set(value: Any) -> bool:
    empty = isinstance(value, str | list | tuple | dict) and not value
    return not (value is None or value is False or empty)


def _characters(scenes: list[Scene]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def entry_of(name: str, scene: int) -> dict[str, Any]:
        empty = {"name": name, "line_count": 0, "words": 0, "scenes": [], "lines": []}
        entry = found.setdefault(name.upper(), empty)
        if scene not in entry["scenes"]:
            entry["scenes"].append(scene)
        return entry

    for scene in scenes:
        for name in scene.cues:  # a cue with only a parenthetical still names a character
            entry_of(name, scene.index)
        for beat in scene.beats:
            if not beat.spoken or not beat.speaker or beat.speaker == NARRATOR:
                continue
            entry = entry_of(beat.speaker, scene.index)
            entry["line_count"] += 1
            entry["words"] += beat.words
            # The beat holds the text, parenthetical and extensions: no second copy here.
            entry["lines"].append({"scene": scene.index, "beat": beat.index})
    return list(found.values())


def _dual_pairs(scenes: list[Scene]) -> list[dict[str, Any]]:
    pairs: dict[int, dict[str, Any]] = {}
    for scene in scenes:
        for beat in scene.beats:
            if beat.dual_pair is None:
                continue
            pair = pairs.setdefault(beat.dual_pair, {"scene": scene.index, "speakers": []})
            speakers = pair["speakers"]
            if not speakers or speakers[-1]["character"] != beat.speaker:
                speakers.append({"character": beat.speaker, "beats": []})
            speakers[-1]["beats"].append(beat.index)
    return [pairs[key] for key in sorted(pairs)]


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def run_script_analysis(
    script: str | bytes,
    *,
    storage: ArtifactStore,
    key_prefix: str,
    options: AnalysisOptions = AnalysisOptions(),
    progress: ProgressCallback = no_progress,
    cancelled: CancelCheck = never_cancelled,
) -> AnalysisResult:
    """Analyse a script and store `<prefix>/script/breakdown.json` and the source text."""
    tracker = Progress("script_analysis", progress, cancelled)
    tracker.checkpoint()
    options.validate()
    text = decode_script(script)
    tracker.report(0.05, "script decoded")
    tracker.checkpoint()
    breakdown = analyse_script(text, options, tracker)
    tracker.checkpoint()
    suffix = ".fountain" if breakdown["mode"] == "fountain" else ".txt"
    source = storage.put_content_addressed(text.encode(), suffix=suffix, content_type="text/plain")
    breakdown["source"]["key"] = source.key
    key = stage_key(key_prefix, "script", "breakdown.json")
    put_json(storage, key, breakdown, compact=True)
    tracker.report(1.0, "breakdown stored")
    stats = breakdown["stats"]
    log.info("script analysed: %s scenes, %s shots", stats["scenes"], stats["shots"])
    return AnalysisResult(breakdown, {"breakdown": key, "source": source.key})
