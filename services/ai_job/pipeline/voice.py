"""Stage 2, voice synthesis: a breakdown in; one WAV per spoken line, the assembled dialogue
track (EBU R128) and the exact timings of every line and phrase out.

Lines sit on the breakdown's timeline (scene starts and beat offsets); a line that runs long
pushes everything after it, so the timings written here, not the breakdown, are the truth for
later stages. Long lines are spoken phrase by phrase, which gives subtitles exact split points.
"""

from __future__ import annotations

import logging
import os
import re
import wave
from array import array
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.ai_job.pipeline.audio import (
    Pcm,
    convert,
    file_sha256,
    normalise_loudness,
    pcm_frames_to_wav,
    resample,
    scratch_dir,
    trim_silence,
    write_wav,
)
from services.ai_job.pipeline.breakdown import NARRATOR
from services.ai_job.pipeline.ports import ArtifactStore
from services.ai_job.pipeline.stage import (
    CancelCheck,
    Progress,
    ProgressCallback,
    never_cancelled,
    no_progress,
    put_json,
    stage_key,
)
from services.ai_job.pipeline.text import split_phrases, split_sentences, word_count
from services.ai_job.pipeline.voice_casting import cast_voices, described_genders
from services.ai_job.pipeline.voice_engines import Voice, VoiceEngine, engine_from_config
from services.ai_job.pipeline.voice_timeline import Line, invalid, layout, plan_lines

log = logging.getLogger(__name__)

TIMINGS_SCHEMA = "filmstudio.voice_timings.v1"
PHRASE_GAP_S = 0.12  # the pause between phrases of one line
MAX_PHRASE_CHARS = 84  # what two subtitle lines hold
SYNTH_THREADS = min(4, os.cpu_count() or 1)
# A worker holds the raw track in memory: about 160 MB an hour at 22 kHz.
MAX_TRACK_S = 2 * 3600.0
MAX_SPOKEN_WORDS = 15_000  # about 100 minutes at 150 words per minute
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class VoiceOptions:
    """Who narrates, what is spoken, which voices, and how loud."""

    narrator: str = "male_narrator"
    narrate_action: bool = False
    words_per_minute: int | None = None
    voices: Mapping[str, str] = field(default_factory=dict)
    genders: Mapping[str, str] = field(default_factory=dict)
    target_lufs: float = -16.0
    sample_rate: int = 48000


@dataclass(frozen=True)
class VoiceResult:
    """The timings document and the keys of the artifacts written."""

    timings: dict[str, Any]
    artifacts: dict[str, str]


def _cast(
    lines: list[Line], engine: VoiceEngine, options: VoiceOptions, described: Mapping[str, str]
) -> dict[str, Voice]:
    narrators = engine.narrators()
    if options.narrator not in narrators:
        raise invalid("narrator", f"must be one of {', '.join(narrators)}")
    characters = sorted({line.speaker for line in lines} - {NARRATOR})
    chosen = {name: engine.voice(spec) for name, spec in _by_name(options.voices, lines).items()}
    genders = _by_name(options.genders, lines, field_name="genders")
    if not set(genders.values()) <= {"male", "female"}:
        raise invalid("genders", "a gender is male or female")
    cast = cast_voices(characters, engine.palette(), chosen, {**described, **genders})
    cast[NARRATOR] = chosen.get(NARRATOR) or narrators[options.narrator]
    return cast


def _by_name(
    choices: Mapping[str, str], lines: list[Line], field_name: str = "voices"
) -> dict[str, str]:
    """Key user choices by the speakers' names as written, matching them case-insensitively."""
    names = {line.speaker.upper(): line.speaker for line in lines} | {NARRATOR.upper(): NARRATOR}
    unknown = sorted(name for name in choices if name.upper() not in names)
    if unknown:
        raise invalid(field_name, f"no speaking character named {', '.join(unknown)}")
    return {names[name.upper()]: value.strip().lower() if field_name == "genders" else value
            for name, value in choices.items()}  # fmt: skip


def _speak(line: Line, engine: VoiceEngine, wpm: int) -> Pcm:
    """Synthesise a line phrase by phrase and record where each phrase lies."""
    assert line.voice is not None
    pieces: list[tuple[str, Pcm]] = []
    rate: int | None = None
    for sentence in split_sentences(line.text):
        for phrase in split_phrases(sentence, MAX_PHRASE_CHARS):
            audio = trim_silence(engine.synthesize(phrase, line.voice, wpm))
            audio = resample(audio, rate or audio.rate)
            rate = audio.rate
            if audio.samples:
                pieces.append((phrase, audio))
            elif pieces:  # unspeakable text ("...") still belongs on screen
                pieces[-1] = (f"{pieces[-1][0]} {phrase}", pieces[-1][1])
    if not pieces:
        return Pcm(array("h"), rate or 22050)
    rate = pieces[0][1].rate
    gap = Pcm.silence(PHRASE_GAP_S, rate).samples
    samples = array("h")
    for number, (phrase, audio) in enumerate(pieces):
        if number:
            samples.extend(gap)
        line.phrases.append((phrase, len(samples), len(samples) + len(audio.samples)))
        samples.extend(audio.samples)
    return Pcm(samples, rate)


def _speak_all(lines: list[Line], engine: VoiceEngine, wpm: int, tracker: Progress) -> None:
    """Synthesise lines on a few threads (engines are single-threaded processes)."""
    pool = ThreadPoolExecutor(max_workers=SYNTH_THREADS, thread_name_prefix="voice")
    try:
        futures = [pool.submit(_speak, line, engine, wpm) for line in lines]
        for number, (line, future) in enumerate(zip(lines, futures, strict=True), start=1):
            line.audio = future.result()
            tracker.step(number, len(lines), 0.02, 0.8, f"line {number} of {len(lines)}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _same_rate(lines: list[Line]) -> int | None:
    """Resample lines to the first line's rate if an engine mixed rates; return that rate."""
    rates = [line.audio.rate for line in lines if line.audio is not None and line.audio.samples]
    if not rates:
        return None
    for line in lines:
        if line.audio is not None and line.audio.rate != rates[0]:
            ratio = rates[0] / line.audio.rate
            line.phrases = [(t, round(a * ratio), round(b * ratio)) for t, a, b in line.phrases]
            line.audio = resample(line.audio, rates[0])
    return rates[0]


def _slug(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-")[:40] or "line"


def run_voice_synthesis(
    breakdown: Mapping[str, Any],
    *,
    storage: ArtifactStore,
    key_prefix: str,
    options: VoiceOptions = VoiceOptions(),
    engine: VoiceEngine | None = None,
    progress: ProgressCallback = no_progress,
    cancelled: CancelCheck = never_cancelled,
) -> VoiceResult:
    """Speak every line of `breakdown` and store the tracks, the dialogue track and timings."""
    tracker = Progress("voice_synthesis", progress, cancelled)
    tracker.checkpoint()
    engine = engine or engine_from_config()
    if not -30.0 <= options.target_lufs <= -5.0 or options.sample_rate not in {44100, 48000}:
        raise invalid("options", "target_lufs must be -30 to -5 and sample_rate 44100 or 48000")
    lines = plan_lines(breakdown, options.narrate_action)
    _check_size(lines, breakdown)
    take = _Take(lines, _cast(lines, engine, options, described_genders(breakdown)))
    wpm = int(options.words_per_minute or breakdown.get("words_per_minute") or 150)
    for line in lines:
        line.voice = take.cast[line.speaker]
    _speak_all(lines, engine, wpm, tracker)
    take.rate = _same_rate(lines) or options.sample_rate
    take.scenes = layout(lines, list(breakdown["scenes"]), take.rate)
    total = max((scene["end_s"] for scene in take.scenes), default=0.0)
    track = Pcm.silence(total, take.rate)
    for line in lines:
        assert line.audio is not None
        track.samples[line.start : line.start + len(line.audio.samples)] = line.audio.samples
    tracker.report(0.85, "dialogue track assembled")
    tracker.checkpoint()
    with scratch_dir() as scratch:
        raw, normalised = Path(scratch) / "raw.wav", Path(scratch) / "dialogue.wav"
        write_wav(raw, track)
        del track  # a long film's raw track is large; the file holds it now
        if any(line.phrases for line in lines):
            take.loudness = normalise_loudness(
                raw, normalised, lufs=options.target_lufs, rate=options.sample_rate
            )
        else:
            convert(raw, normalised, options.sample_rate)
        tracker.report(0.93, "loudness normalised")
        tracker.checkpoint()
        return _store(take, normalised, engine, options, storage, key_prefix, tracker)


@dataclass
class _Take:
    """What the stage has made so far: lines, cast, layout, and the engine's sample rate."""

    lines: list[Line]
    cast: dict[str, Voice]
    rate: int = 0
    scenes: list[dict[str, Any]] = field(default_factory=list)
    loudness: dict[str, float | int] | None = None


def _check_size(lines: list[Line], breakdown: Mapping[str, Any]) -> None:
    """Refuse work whose audio would not fit in a worker's memory."""
    words = sum(word_count(line.text) for line in lines)
    planned = float((breakdown.get("timing") or {}).get("duration_s") or 0.0)
    if words > MAX_SPOKEN_WORDS or planned > MAX_TRACK_S:
        raise invalid(
            "breakdown",
            f"too long for one voice job: {words} spoken words, {planned:.0f} s planned "
            f"(the limits are {MAX_SPOKEN_WORDS} words and {MAX_TRACK_S:.0f} s)",
        )


def _store(
    take: _Take,
    normalised: Path,
    engine: VoiceEngine,
    options: VoiceOptions,
    storage: ArtifactStore,
    key_prefix: str,
    tracker: Progress,
) -> VoiceResult:
    """Cut each line's track from the final file and store everything with the timings."""
    cues: list[dict[str, Any]] = []
    with wave.open(str(normalised)) as final:
        out, frames = final.getframerate(), final.getnframes()
        for number, line in enumerate(take.lines, start=1):
            assert line.audio is not None
            assert line.voice is not None
            begin = round(line.start / take.rate * out)
            finish = min(frames, round((line.start + len(line.audio.samples)) / take.rate * out))
            final.setpos(begin)
            name = f"{number:04d}-{_slug(line.speaker)}.wav"
            track_key = stage_key(key_prefix, "voice", "lines", name)
            storage.put_bytes(track_key, pcm_frames_to_wav(final.readframes(finish - begin), out))
            cues.append(_cue(number, line, begin / out, finish / out, take.rate, track_key))
    dialogue_key = stage_key(key_prefix, "voice", "dialogue.wav")
    storage.put_file(dialogue_key, normalised, content_type="audio/wav")
    timings = {
        "schema": TIMINGS_SCHEMA,
        "engine": engine.name,
        "narrator": options.narrator,
        "sample_rate": out,
        "duration_s": round(frames / out, 3),
        "speech_s": round(sum(cue["duration_s"] for cue in cues), 3),
        "audio": {"key": dialogue_key, "sha256": file_sha256(normalised)},
        "loudness": take.loudness,
        "voices": {name: voice.id for name, voice in sorted(take.cast.items())},
        "scenes": [
            {**s, "start_s": round(s["start_s"], 3), "end_s": round(s["end_s"], 3)}
            for s in take.scenes
        ],
        "cues": cues,
    }
    timings_key = stage_key(key_prefix, "voice", "timings.json")
    put_json(storage, timings_key, timings)
    tracker.report(1.0, f"{len(cues)} lines stored")
    log.info("voice: %d lines, %.1f s track", len(cues), timings["duration_s"])
    return VoiceResult(timings, {"dialogue": dialogue_key, "timings": timings_key})


def _cue(number: int, line: Line, start: float, end: float, rate: int, key: str) -> dict[str, Any]:
    offset = line.start / rate
    assert line.voice is not None
    return {
        "index": number,
        "scene": line.scene,
        "beat": line.beat,
        "kind": line.kind,
        "speaker": line.speaker,
        "extensions": line.extensions,
        "voice": line.voice.id,
        "text": line.text,
        "start_s": round(start, 3),
        "end_s": round(end, 3),
        "duration_s": round(end - start, 3),
        "track": key,
        "segments": [
            {
                "text": text,
                "start_s": round(offset + a / rate, 3),
                "end_s": round(offset + b / rate, 3),
            }
            for text, a, b in line.phrases
        ],
    }
