"""The corpus screenplay through all three stages, with artifacts in S3 (SeaweedFS)."""

from __future__ import annotations

import io
import json
import secrets
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysrt
import pytest
import webvtt

from services.ai_job.pipeline.audio import probe_duration
from services.ai_job.pipeline.media_tools import ffmpeg_exe
from services.ai_job.pipeline.script_analysis import AnalysisOptions, run_script_analysis
from services.ai_job.pipeline.subtitles import run_subtitles
from services.ai_job.pipeline.voice import run_voice_synthesis
from services.common.s3_storage import S3Storage
from tests.support.netflix_subtitles import Cue, violations
from tests.support.seaweed import SeaweedServer

PREFIX = "jobs/corpus"


@dataclass
class CorpusRun:
    storage: S3Storage
    breakdown: dict[str, Any]
    timings: dict[str, Any]
    subtitle_keys: dict[str, str]
    files: Path

    def download(self, key: str) -> Path:
        target = self.files / key.replace("/", "_")
        if not target.exists():
            target.write_bytes(self.storage.get_bytes(key))
        return target


@pytest.fixture(scope="module")
def corpus_run(
    seaweed: SeaweedServer, corpus_text: str, tmp_path_factory: pytest.TempPathFactory
) -> CorpusRun:
    storage = seaweed.new_bucket(f"corpus-{secrets.token_hex(6)}")
    options = AnalysisOptions(target_duration_s=90)
    analysis = run_script_analysis(corpus_text, storage=storage, key_prefix=PREFIX, options=options)
    voice = run_voice_synthesis(analysis.breakdown, storage=storage, key_prefix=PREFIX)
    subtitles = run_subtitles(voice.timings, storage=storage, key_prefix=PREFIX)
    files = tmp_path_factory.mktemp("corpus")
    return CorpusRun(storage, analysis.breakdown, voice.timings, subtitles.artifacts, files)


def test_every_artifact_is_in_the_bucket_under_the_job(corpus_run: CorpusRun) -> None:
    keys = corpus_run.storage.list(PREFIX + "/")
    assert f"{PREFIX}/script/breakdown.json" in keys
    assert f"{PREFIX}/voice/dialogue.wav" in keys
    assert f"{PREFIX}/voice/timings.json" in keys
    assert {f"{PREFIX}/subtitles/subtitles.srt", f"{PREFIX}/subtitles/subtitles.vtt"} <= set(keys)
    assert len([k for k in keys if "/voice/lines/" in k]) == 22
    stored = json.loads(corpus_run.storage.get_bytes(f"{PREFIX}/script/breakdown.json"))
    assert stored["stats"]["scenes"] == 8
    assert stored["stats"]["speaking_characters"] == 7
    assert stored["dual_dialogue"][0]["scene"] == 1


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as reader:
        return reader.getnframes() / reader.getframerate()


def test_voice_durations_match_the_timings_within_50_ms(corpus_run: CorpusRun) -> None:
    timings = corpus_run.timings
    dialogue = corpus_run.download(timings["audio"]["key"])
    assert abs(probe_duration(dialogue) - timings["duration_s"]) <= 0.05
    cues = timings["cues"]
    for cue in cues:
        track = corpus_run.download(cue["track"])
        assert abs(_wav_seconds(track) - cue["duration_s"]) <= 0.05, cue["text"]
    for cue in (cues[0], cues[-1]):  # and as ffmpeg sees them
        assert abs(probe_duration(corpus_run.download(cue["track"])) - cue["duration_s"]) <= 0.05


def test_seven_characters_speak_with_seven_voices(corpus_run: CorpusRun) -> None:
    voices = {cue["speaker"]: cue["voice"] for cue in corpus_run.timings["cues"]}
    assert len(voices) == 7
    assert len(set(voices.values())) == 7


def _srt_cues(path: Path) -> list[Cue]:
    return [Cue(i.start.ordinal, i.end.ordinal, i.text) for i in pysrt.open(str(path))]


def _vtt_cues(path: Path) -> list[Cue]:
    return [
        Cue(c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), c.raw_text)
        for c in webvtt.read(str(path))
    ]


def _ffmpeg_convert(path: Path, to: str) -> str:
    result = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", to, "-"],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert result.stderr == b""
    return result.stdout.decode()


def test_subtitle_files_parse_with_independent_parsers_and_ffmpeg(corpus_run: CorpusRun) -> None:
    srt = corpus_run.download(corpus_run.subtitle_keys["srt"])
    vtt = corpus_run.download(corpus_run.subtitle_keys["vtt"])
    srt_cues, vtt_cues = _srt_cues(srt), _vtt_cues(vtt)
    assert len(srt_cues) == len(vtt_cues) >= 22
    assert [(c.start_ms, c.end_ms, c.lines) for c in srt_cues] == [
        (c.start_ms, c.end_ms, c.lines) for c in vtt_cues
    ]
    from_vtt = pysrt.from_string(_ffmpeg_convert(vtt, "srt"))
    from_srt = list(webvtt.from_buffer(io.StringIO(_ffmpeg_convert(srt, "webvtt"))))
    assert len(from_vtt) == len(from_srt) == len(srt_cues)
    assert [i.start.ordinal for i in from_vtt] == [c.start_ms for c in srt_cues]


def test_subtitles_obey_every_netflix_rule(corpus_run: CorpusRun) -> None:
    srt = corpus_run.download(corpus_run.subtitle_keys["srt"])
    vtt = corpus_run.download(corpus_run.subtitle_keys["vtt"])
    assert violations(_srt_cues(srt)) == []
    assert violations(_vtt_cues(vtt)) == []


def test_subtitles_follow_the_audio_word_for_word(corpus_run: CorpusRun) -> None:
    cues = _srt_cues(corpus_run.download(corpus_run.subtitle_keys["srt"]))
    spoken = corpus_run.timings["cues"]
    shown = " ".join(" ".join(c.lines) for c in cues)
    assert shown == " ".join(" ".join(s["text"] for s in cue["segments"]) for cue in spoken)
    for cue in cues:  # every event is on screen while some line is being spoken
        assert any(
            cue.start_ms < line["end_s"] * 1000 and cue.end_ms > line["start_s"] * 1000
            for line in spoken
        ), cue.text
