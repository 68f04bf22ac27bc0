"""Media pipeline I on the corpus screenplay: analysis, voice and subtitles against real time.

Runs the three stages on shared/corpus/brick-and-steel.fountain (fitted to 90 s) with local
storage, several times, and prints the median time of each stage as a ratio to the spoken
duration of the result (the real-time factor; lower is faster). A baseline measured in the same
run, bare espeak-ng speaking every line once, shows what the voice stage adds on top of the
engine (phrasing, loudness, assembly, storage).

    .venv/bin/python bench/pipeline.py [--runs 3] [--target 90]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from services.ai_job.pipeline import espeak  # noqa: E402
from services.ai_job.pipeline.script_analysis import (  # noqa: E402
    AnalysisOptions,
    run_script_analysis,
)
from services.ai_job.pipeline.subtitles import run_subtitles  # noqa: E402
from services.ai_job.pipeline.voice import run_voice_synthesis  # noqa: E402
from services.ai_job.pipeline.voice_casting import cast_voices  # noqa: E402
from services.ai_job.pipeline.voice_engines import EspeakEngine  # noqa: E402
from services.common.storage import LocalStorage  # noqa: E402

SAMPLE = "brick-and-steel.fountain"


def corpus() -> Path:
    for base in (ROOT / "shared" / "corpus", ROOT.parent / "shared" / "corpus"):
        if (base / SAMPLE).is_file():
            return base / SAMPLE
    raise SystemExit(f"{SAMPLE} not found under shared/corpus")


def one_run(script: str, target: float, directory: Path) -> dict[str, float]:
    storage = LocalStorage(directory)
    times: dict[str, float] = {}
    start = time.perf_counter()
    options = AnalysisOptions(target_duration_s=target)
    analysis = run_script_analysis(
        script, storage=storage, key_prefix="jobs/bench", options=options
    )
    times["analysis"] = time.perf_counter() - start
    start = time.perf_counter()
    voice = run_voice_synthesis(
        analysis.breakdown, storage=storage, key_prefix="jobs/bench", engine=EspeakEngine()
    )
    times["voice"] = time.perf_counter() - start
    start = time.perf_counter()
    run_subtitles(voice.timings, storage=storage, key_prefix="jobs/bench")
    times["subtitles"] = time.perf_counter() - start
    times["spoken"] = voice.timings["duration_s"]
    times["speech"] = voice.timings["speech_s"]
    times["lines"] = len(voice.timings["cues"])
    start = time.perf_counter()
    bare_espeak(analysis.breakdown)
    times["espeak"] = time.perf_counter() - start
    return times


def bare_espeak(breakdown: dict) -> None:
    """Speak every line with libespeak-ng, one call per line, audio discarded."""
    lines = [
        (b.get("speaker"), b["text"])
        for s in breakdown["scenes"]
        for b in s["beats"]
        if b.get("spoken")
    ]
    engine = EspeakEngine()
    cast = cast_voices(sorted({speaker for speaker, _ in lines}), engine.palette(), {})
    for speaker, text in lines:
        voice = cast[speaker]
        espeak.speak(" ".join(text.split()), voice.name, voice.pitch, 150)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target", type=float, default=90.0)
    args = parser.parse_args()
    script = corpus().read_text(encoding="utf-8")
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as scratch:
        for number in range(args.runs):
            runs.append(one_run(script, args.target, Path(scratch) / str(number)))
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    spoken = median["spoken"]
    total = median["analysis"] + median["voice"] + median["subtitles"]
    print(f"corpus: {SAMPLE}, {int(median['lines'])} spoken lines, fitted to {args.target:g} s")
    print(f"spoken duration {spoken:.2f} s (speech alone {median['speech']:.2f} s); "
          f"median of {args.runs} runs")  # fmt: skip
    print()
    print(f"{'stage':<22}{'seconds':>10}{'x real time':>14}")
    for label, key in (("script analysis", "analysis"), ("voice synthesis", "voice"),
                       ("subtitles", "subtitles")):  # fmt: skip
        print(f"{label:<22}{median[key]:>10.3f}{median[key] / spoken:>14.4f}")
    print(f"{'total':<22}{total:>10.3f}{total / spoken:>14.4f}")
    print()
    print(f"baseline, bare espeak-ng per line: {median['espeak']:.3f} s "
          f"({median['espeak'] / spoken:.4f} x real time); "
          f"voice stage / baseline = {median['voice'] / median['espeak']:.1f}x")  # fmt: skip
    print(f"real-time speed-up of the whole pipeline: {spoken / total:.0f}x")


if __name__ == "__main__":
    main()
