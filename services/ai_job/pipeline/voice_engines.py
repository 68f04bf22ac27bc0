"""Text-to-speech engines behind one interface, and the casting of voices to characters.

Piper with the joe voice (neural) is the default; espeak-ng (the library espeakng-loader ships)
is the light one, with many accents. Both come with pip. Any command-line engine is added by
configuration: an argv template with `{output}`, `{voice}` and `{wpm}` slots that reads the
text on stdin and writes a WAV file.
"""

from __future__ import annotations

import itertools
import logging
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from services.ai_job.pipeline import espeak, piper_voice
from services.ai_job.pipeline.audio import Pcm, read_wav, scratch_dir
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.stage import ToolFailed, run_tool

log = logging.getLogger(__name__)

NARRATOR_VOICES = ("male_narrator", "female_narrator")
ENGINES = ("piper", "espeak-ng", "command")
DEFAULT_ENGINE = "piper"
_SPEC = re.compile(
    r"(?P<name>[A-Za-z0-9_+.-]{1,64})(?::p(?P<pitch>\d{1,2}))?(?::r(?P<rate>[\d.]+))?"
)
_UNSPEAKABLE = re.compile(r"\[\[|\]\]|[\x00-\x08\x0b-\x1f\x7f]")  # espeak reads [[ ]] as phonemes


@dataclass(frozen=True)
class Voice:
    """A voice of one engine: its engine-specific name, pitch (0-99) and speed multiplier."""

    engine: str
    name: str
    pitch: int = 50
    rate: float = 1.0
    gender: str = "neutral"

    @property
    def id(self) -> str:
        """Return a stable identifier such as `espeak-ng:en-gb+f2:p58:r1`."""
        return f"{self.engine}:{self.name}:p{self.pitch}:r{self.rate:g}"


class VoiceEngine(Protocol):
    """What the voice stage needs from a speech engine; must be safe to call from any thread."""

    name: str

    def palette(self) -> Sequence[Voice]:
        """Return the voices characters are cast from, most distinct first."""
        ...

    def narrators(self) -> Mapping[str, Voice]:
        """Return the selectable narrator voices by name (male_narrator, female_narrator)."""
        ...

    def voice(self, spec: str) -> Voice:
        """Parse a voice chosen by a user (`en-gb+f3:p60:r1.1`); StageInputError if unknown."""
        ...

    def synthesize(self, text: str, voice: Voice, words_per_minute: int) -> Pcm:
        """Speak `text` and return the audio."""
        ...


def speakable(text: str) -> str:
    """Remove what an engine would read as markup or control codes."""
    return " ".join(_UNSPEAKABLE.sub(" ", text).split())


def _parse_spec(engine: str, spec: str, known: frozenset[str]) -> Voice:
    match = _SPEC.fullmatch(spec.strip())
    if match is None or match.group("name") not in known:
        raise StageInputError.field("voices", f"unknown {engine} voice {spec[:64]!r}")
    rate = float(match.group("rate") or 1.0)
    if not 0.5 <= rate <= 2.0:
        raise StageInputError.field("voices", "a voice's rate must be 0.5 to 2.0")
    return Voice(engine, match.group("name"), int(match.group("pitch") or 50), rate)


# (voice, pitch, rate, gender): accents, variants and pitch spread so neighbours differ.
_ESPEAK_CAST = (
    ("en-us+m3", 45, 1.0, "male"), ("en-gb+f2", 58, 1.0, "female"),
    ("en-gb-scotland+m1", 38, 0.95, "male"), ("en-us+f4", 62, 1.05, "female"),
    ("en-029+m2", 50, 1.0, "male"), ("en-gb-x-gbclan+f3", 55, 0.95, "female"),
    ("en-us-nyc+m5", 42, 1.05, "male"), ("en-gb+f5", 66, 1.0, "female"),
    ("en-gb-x-gbcwmd+m4", 34, 0.95, "male"), ("en-us+f1", 52, 1.0, "female"),
    ("en-gb+m6", 47, 1.05, "male"), ("en-029+f2", 60, 1.0, "female"),
    ("en-us+m7", 30, 0.9, "male"), ("en-gb-scotland+f4", 57, 1.0, "female"),
    ("en-us-nyc+m2", 55, 1.1, "male"), ("en-gb-x-gbclan+m3", 40, 1.0, "male"),
)  # fmt: skip
_ESPEAK_NARRATORS = {
    "male_narrator": ("en-gb-x-rp+m1", 40, 0.95, "male"),
    "female_narrator": ("en-us+f3", 54, 0.95, "female"),
}


class EspeakEngine:
    """espeak-ng, as a library: fast, offline, many accents and variants, robotic."""

    name = "espeak-ng"

    def palette(self) -> Sequence[Voice]:
        """Return sixteen voices alternating male and female."""
        return [Voice(self.name, *entry) for entry in _ESPEAK_CAST]

    def narrators(self) -> Mapping[str, Voice]:
        """Return the two narrator voices, neither of them in the palette."""
        return {key: Voice(self.name, *entry) for key, entry in _ESPEAK_NARRATORS.items()}

    def voice(self, spec: str) -> Voice:
        """Accept `language[+variant][:pNN][:rX]` for any installed language and variant."""
        language, _, variant = spec.split(":", 1)[0].partition("+")
        languages, variants = espeak.inventory()
        known = frozenset(
            {spec.split(":", 1)[0]}
            if language.lower() in languages and (not variant or variant in variants)
            else set()
        )
        return _parse_spec(self.name, spec, known)

    def synthesize(self, text: str, voice: Voice, words_per_minute: int) -> Pcm:
        """Speak `text` through libespeak-ng."""
        speed = max(80, min(450, round(words_per_minute * voice.rate)))
        return espeak.speak(speakable(text), voice.name, voice.pitch, speed)


# joe's (pitch, rate) for characters: a semitone or more apart, or a different pace.
_JOE_CAST = ((44, 1.0), (57, 1.05), (38, 0.95), (53, 0.9), (47, 1.1), (62, 1.0), (34, 1.05))


class PiperEngine:
    """Piper with the joe voice (neural, US male); women's voices are espeak-ng's.

    Only one neural voice ships with pip, and shifting a man's voice up does not make a woman's:
    female characters and the female narrator speak with espeak-ng's female variants.
    """

    name = "piper"

    def __init__(self) -> None:
        self._espeak = EspeakEngine()

    def palette(self) -> Sequence[Voice]:
        """Return joe at seven pitches and paces, alternating with espeak-ng's women."""
        men = [Voice(self.name, piper_voice.JOE, p, r, "male") for p, r in _JOE_CAST]
        women = [voice for voice in self._espeak.palette() if voice.gender == "female"]
        pairs = itertools.zip_longest(men, women)
        return [voice for pair in pairs for voice in pair if voice is not None]

    def narrators(self) -> Mapping[str, Voice]:
        """Return joe as he is, and espeak-ng's female narrator."""
        return {
            "male_narrator": Voice(self.name, piper_voice.JOE, 50, 1.0, "male"),
            "female_narrator": self._espeak.narrators()["female_narrator"],
        }

    def voice(self, spec: str) -> Voice:
        """Accept `joe[:pNN][:rX]`, or any espeak-ng voice."""
        if spec.split(":", 1)[0] != piper_voice.JOE:
            return self._espeak.voice(spec)
        return _parse_spec(self.name, spec, frozenset({piper_voice.JOE}))

    def synthesize(self, text: str, voice: Voice, words_per_minute: int) -> Pcm:
        """Speak `text` with joe, or with espeak-ng for its voices."""
        if voice.engine == self._espeak.name:
            return self._espeak.synthesize(text, voice, words_per_minute)
        speed = max(80, min(450, round(words_per_minute * voice.rate)))
        return piper_voice.speak(speakable(text), voice.pitch, speed)


class CommandEngine:
    """Any TTS program: argv template reading text on stdin and writing a WAV to `{output}`."""

    name = "command"

    def __init__(
        self,
        argv: Sequence[str],
        voices: Sequence[str],
        narrators: Mapping[str, str] | None = None,
    ) -> None:
        if not argv or not any("{output}" in part for part in argv):
            raise ValueError("the TTS command must contain an {output} placeholder")
        if not voices:
            raise ValueError("the TTS command needs at least one voice")
        self.argv = list(argv)
        self.voice_names = list(voices)
        default = {key: voices[min(i, len(voices) - 1)] for i, key in enumerate(NARRATOR_VOICES)}
        self.narrator_names = dict(narrators or default)

    @classmethod
    def from_config(cls, command: str, voices: str, narrators: str = "") -> CommandEngine:
        """Build from strings: a command line, `v1,v2,...` and `male_narrator=v1,...`."""
        pairs = (item.split("=", 1) for item in narrators.split(",") if "=" in item)
        return cls(
            shlex.split(command),
            [v.strip() for v in voices.split(",") if v.strip()],
            {key.strip(): value.strip() for key, value in pairs} or None,
        )

    def palette(self) -> Sequence[Voice]:
        """Return the configured voices not reserved for a narrator (all if too few)."""
        reserved = set(self.narrator_names.values())
        names = [name for name in self.voice_names if name not in reserved] or self.voice_names
        return [Voice(self.name, name) for name in names]

    def narrators(self) -> Mapping[str, Voice]:
        """Return the configured narrator voices."""
        return {key: Voice(self.name, name) for key, name in self.narrator_names.items()}

    def voice(self, spec: str) -> Voice:
        """Accept one of the configured voice names."""
        return _parse_spec(self.name, spec, frozenset(self.voice_names))

    def synthesize(self, text: str, voice: Voice, words_per_minute: int) -> Pcm:
        """Run the command once for `text`."""
        wpm = round(words_per_minute * voice.rate)
        with scratch_dir() as scratch:
            output = Path(scratch) / "speech.wav"
            slots = {
                "output": str(output),
                "voice": voice.name,
                "wpm": str(wpm),
                "length_scale": f"{150 / wpm:.3f}",
            }
            run_tool([part.format(**slots) for part in self.argv], stdin=speakable(text).encode())
            if not output.exists():
                raise ToolFailed(f"{self.argv[0]} wrote no audio to {{output}}")
            return read_wav(output.read_bytes())


def engine_from_config(
    name: str = DEFAULT_ENGINE, command: str | None = None, voices: str = "", narrators: str = ""
) -> VoiceEngine:
    """Return the engine a deployment configured."""
    if name == "piper":
        return PiperEngine()
    if name == "espeak-ng":
        return EspeakEngine()
    if name == "command" and command:
        return CommandEngine.from_config(command, voices, narrators)
    raise ValueError(
        f"unknown voice engine {name!r} (use piper, espeak-ng, or command with a command)"
    )


def choose_engine(
    requested: str,
    configured: str = DEFAULT_ENGINE,
    command: str | None = None,
    voices: str = "",
    narrators: str = "",
) -> VoiceEngine:
    """Return the engine a job asked for (`requested`, may be empty), else the configured one."""
    name = (requested or configured or DEFAULT_ENGINE).strip().lower()
    if name not in ENGINES or (name == "command" and not command):
        usable = [engine for engine in ENGINES if engine != "command" or command]
        raise StageInputError.field("voice_engine", f"must be one of {', '.join(usable)}")
    return engine_from_config(name, command, voices, narrators)
