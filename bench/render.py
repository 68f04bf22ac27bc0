"""The film end to end: a 60-second 720p film from the corpus screenplay, against bare ffmpeg.

Runs the stage graph of a full_generation job (script analysis, Piper voice beside storyboard
images, subtitles, video composition, thumbnail) on shared/corpus/brick-and-steel.fountain
fitted to 60 s, with local storage and nothing cached, exactly as a worker does. Then, in the
same run, the baseline: the composed film's own frames and audio, decoded to raw files
beforehand, encoded by ffmpeg alone into the same two files (the film and its web preview) with
the same x264 and AAC settings and no other filters.

Prints each stage's time, the composition's ratio to the bare encode (goal: at most 1.5), the
real-time factor of the whole film (wall time over film length; goal: at most 0.5 on a 2-core
machine) and peak memory (this process, and ffmpeg's as sampled from /proc).

    .venv/bin/python bench/render.py [--target 60] [--resolution 720p] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from services.ai_job.pipeline.media_tools import ffmpeg_exe  # noqa: E402
from services.ai_job.pipeline.video_graph import PREVIEW_PRESET  # noqa: E402
from services.ai_job.pipeline.video_options import PREVIEW_BITRATE, VideoOptions  # noqa: E402
from services.ai_job.runners import STAGES, TARGETS  # noqa: E402
from services.ai_job.stage_adapters import options_from  # noqa: E402
from services.ai_job.stage_graph import GraphRunner, RunContext, Stage, order  # noqa: E402
from services.common.config import explicit_settings  # noqa: E402
from services.common.storage import LocalStorage  # noqa: E402

SAMPLE = "brick-and-steel.fountain"


def corpus() -> Path:
    for base in (ROOT / "shared" / "corpus", ROOT.parent / "shared" / "corpus"):
        if (base / SAMPLE).is_file():
            return base / SAMPLE
    raise SystemExit(f"{SAMPLE} not found under shared/corpus")


def _timed(stage: Stage, times: dict[str, float]) -> Stage:
    def run(ctx: RunContext, progress: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return stage.run(ctx, progress)
        finally:
            times[stage.name] = time.perf_counter() - started

    return replace(stage, run=run)


def film(script: str, target: int, resolution: str, directory: Path) -> dict[str, Any]:
    """Make the film once with nothing cached; return stage times, wall time and outputs."""
    settings = explicit_settings()
    storage = LocalStorage(directory)
    times: dict[str, float] = {}
    stages = [_timed(stage, times) for stage in order(STAGES, TARGETS["full_generation"])]
    parameters = {
        "style": "cinematic",
        "duration_seconds": target,
        "voice": "male_narrator",
        "aspect_ratio": "16:9",
        "resolution": resolution,
        "extra": {},
    }
    context = RunContext(
        job={"id": "bench", "attempt": 1, "job_type": "full_generation", "parameters": parameters},
        project={"script": script, "title": "Brick & Steel"},
        storage=storage,
        key_prefix="bench",
        report=lambda percent, stage, message: None,
        cancelled=lambda: False,
        options=options_from(settings),
    )
    runner = GraphRunner(storage, parallelism=settings.stage_parallelism)
    started = time.perf_counter()
    runner.run(context, stages)
    wall = time.perf_counter() - started
    keys = {item["kind"]: item["key"] for item in context.artifacts}
    return {
        "times": times,
        "wall": wall,
        "film_s": float(context.outputs["video_composition"]["duration_s"]),
        "video": storage.get_file(keys["video"], directory / "film.mp4"),
    }


def bare_encode(video: Path, resolution: str, directory: Path) -> float:
    """Encode the film's own frames and audio with ffmpeg alone; return the encode's time.

    It writes what the video stage writes, with the same settings: the film and its web
    preview (scaled from the same frames), so the ratio is the cost of the stage's pictures
    and sound (stills, camera moves, cross-fades, loudness), not of its outputs.
    """
    frames, audio = directory / "frames.y4m", directory / "audio.wav"
    ffmpeg = ffmpeg_exe()
    decode = [ffmpeg, "-v", "error", "-y", "-i", str(video)]
    subprocess.run([*decode, "-map", "0:v", "-pix_fmt", "yuv420p", str(frames)], check=True)
    subprocess.run([*decode, "-map", "0:a", "-c:a", "pcm_s16le", str(audio)], check=True)
    height = {"720p": 720, "1080p": 1080}[resolution]
    options = VideoOptions(width=height * 16 // 9, height=height)
    gop, ceiling = options.gop(), options.max_bitrate()
    small_width, small_height = options.preview_size()
    encode = [
        ffmpeg, "-v", "error", "-y", "-i", str(frames), "-i", str(audio),
        "-filter_complex", f"[0:v]split=2[film][small];[small]scale={small_width}:{small_height}"
        ":flags=bilinear[preview];[1:a]asplit=2[sound][small_sound]",
        "-map", "[film]", "-map", "[sound]",
        "-c:v", "libx264", "-preset", options.preset, "-crf", str(options.crf),
        "-maxrate", str(ceiling), "-bufsize", str(2 * ceiling), "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-flags", "+cgop", "-r", str(options.fps),
        "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2",
        "-movflags", "+faststart", str(directory / "bare.mp4"),
        "-map", "[preview]", "-map", "[small_sound]",
        "-c:v", "libx264", "-preset", PREVIEW_PRESET, "-crf", "28",
        "-maxrate", str(PREVIEW_BITRATE), "-bufsize", str(2 * PREVIEW_BITRATE),
        "-profile:v", "main", "-pix_fmt", "yuv420p",
        "-g", str(2 * options.fps), "-r", str(options.fps),
        "-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "2",
        "-movflags", "+faststart", str(directory / "bare-preview.mp4"),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(encode, check=True)
    elapsed = time.perf_counter() - started
    frames.unlink()
    return elapsed


class ChildMemory:
    """Sample the peak resident memory (VmHWM) of this process's children, e.g. ffmpeg."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(0.1):
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    status = (entry / "status").read_text()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
                    self.peak_kib = max(self.peak_kib, int(fields["VmHWM"].split()[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=int, default=60, help="film length to fit, seconds")
    parser.add_argument("--resolution", choices=("720p", "1080p"), default="720p")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    script = corpus().read_text()
    rows: list[dict[str, Any]] = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-render-") as folder, ChildMemory() as child:
            made = film(script, args.target, args.resolution, Path(folder))
            made["child_mib"] = child.peak_kib / 1024
            made["bare"] = bare_encode(made["video"], args.resolution, Path(folder))
            rows.append(made)
    median = statistics.median
    print(f"film: {SAMPLE} fitted to {args.target} s, {args.resolution} 16:9, {args.runs} run(s)")
    print(f"{'stage':<22}{'seconds':>9}")
    for name in rows[0]["times"]:
        print(f"{name:<22}{median(r['times'][name] for r in rows):>9.1f}")
    wall, film_s = median(r["wall"] for r in rows), median(r["film_s"] for r in rows)
    compose, bare = (
        median(r["times"]["video_composition"] for r in rows),
        median(r["bare"] for r in rows),
    )
    print(f"{'whole film (wall)':<22}{wall:>9.1f}   for {film_s:.1f} s of film")
    print(f"{'bare ffmpeg encode':<22}{bare:>9.1f}   same frames, audio, outputs and settings")
    print(f"composition / bare encode: {compose / bare:.2f}  (goal: at most 1.5)")
    print(f"real-time factor (wall / film): {wall / film_s:.2f}  (goal: at most 0.5)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = max(r["child_mib"] for r in rows)
    print(f"peak memory: {own:.0f} MiB in this process, {child:.0f} MiB in ffmpeg (largest child)")
    print(f"ffmpeg: {ffmpeg_exe()}")


if __name__ == "__main__":
    main()
