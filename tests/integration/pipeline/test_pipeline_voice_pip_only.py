"""The voice stage with nothing but pip: no ffmpeg or espeak-ng on the PATH, FFMPEG unset.

CI machines may still have Debian's ffmpeg and espeak-ng from earlier runs, so the stage runs in
a child process whose PATH is the virtual environment's bin alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from array import array
from pathlib import Path
from typing import Any

import pytest

from services.ai_job.pipeline.media_tools import probe

SCENE = "INT. LAB - NIGHT\n\nANNA\nIt works! It works at last.\n\nBEN\nOf course it works.\n"

CHILD = """
import json, pathlib, shutil, sys
from services.ai_job.pipeline.media_tools import ffmpeg_exe
from services.ai_job.pipeline.script_analysis import analyse_script
from services.ai_job.pipeline.voice import run_voice_synthesis
from services.ai_job.pipeline.voice_engines import choose_engine
from services.common.storage import LocalStorage

root, scene = pathlib.Path(sys.argv[1]), sys.argv[2]
found = {tool: shutil.which(tool) for tool in ("ffmpeg", "ffprobe", "espeak-ng")}
runs = {}
for engine in ("", "espeak-ng"):
    result = run_voice_synthesis(
        analyse_script(scene), storage=LocalStorage(root), key_prefix=f"jobs/{engine or 'default'}",
        engine=choose_engine(engine),
    )
    runs[engine or "default"] = result.timings
print(json.dumps({"found": found, "ffmpeg": ffmpeg_exe(), "runs": runs}))
"""


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("pip-only")
    env = {key: value for key, value in os.environ.items() if key not in {"FFMPEG", "PATH"}}
    env["PATH"] = str(Path(sys.executable).parent)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), SCENE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root, json.loads(result.stdout.strip().splitlines()[-1])


def test_no_system_tools_were_visible_and_imageio_ffmpeg_stood_in(
    child: tuple[Path, dict[str, Any]],
) -> None:
    _, report = child
    assert report["found"] == {"ffmpeg": None, "ffprobe": None, "espeak-ng": None}
    assert "imageio_ffmpeg" in report["ffmpeg"]


@pytest.mark.parametrize("run", ["default", "espeak-ng"])
def test_each_engine_writes_a_timed_normalised_wav(
    child: tuple[Path, dict[str, Any]], run: str
) -> None:
    root, report = child
    timings = report["runs"][run]
    assert timings["engine"] == ("piper" if run == "default" else "espeak-ng")
    assert [cue["speaker"] for cue in timings["cues"]] == ["ANNA", "BEN"]
    assert len(set(timings["voices"].values())) == len(timings["voices"])
    dialogue = root / timings["audio"]["key"]
    with wave.open(str(dialogue)) as reader:
        rate, samples = reader.getframerate(), array("h", reader.readframes(reader.getnframes()))
    assert rate == timings["sample_rate"] == 48000
    assert abs(len(samples) / rate - timings["duration_s"]) <= 0.01
    assert abs(probe(dialogue).duration_s - timings["duration_s"]) <= 0.05
    for cue in timings["cues"]:
        assert cue["end_s"] > cue["start_s"] >= 0.0
        spoken = samples[round(cue["start_s"] * rate) : round(cue["end_s"] * rate)]
        assert max(abs(value) for value in spoken) > 3000, cue["text"]
    assert timings["cues"][1]["start_s"] >= timings["cues"][0]["end_s"] + 0.2
    assert timings["loudness"]["output_i"] == pytest.approx(-16.0, abs=1.0)
