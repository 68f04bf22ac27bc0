"""`filmstudio stage image|video|thumbnail|film FILE`: the film's stages by hand, from a script.

Each command runs the stage graph a job of that type runs, on the local machine, with no job
service: the stages it needs come first and are reused when their inputs did not change (the
same cache a job uses, under `cli/<hash of the script>/`). Standard output carries one JSON
summary; progress and logs go to standard error.

    filmstudio stage film script.fountain --resolution 720p --aspect 16:9
    filmstudio stage image script.fountain --render-height 180 --style noir
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.ai_job.pipeline.video_options import ASPECTS, HEIGHTS
from services.common.errors import InvalidArgument

if TYPE_CHECKING:
    from services.common.config import Settings
    from services.common.storage import Storage

log = logging.getLogger(__name__)

COMMANDS = {
    "image": ("image_generation", "script -> one keyframe per shot (and the breakdown)"),
    "video": ("video_composition", "script -> the film: voice, images, subtitles, MP4"),
    "thumbnail": ("thumbnail_generation", "script -> the film and its thumbnail"),
    "film": ("full_generation", "script -> everything a full_generation job makes"),
}
MAX_SCRIPT_BYTES = 1024 * 1024


def register(stages: argparse._SubParsersAction[argparse.ArgumentParser], common: Any) -> None:
    """Add the film's commands under `stage`; `common(parser, run)` wires the shared handling."""
    for command, (job_type, summary) in COMMANDS.items():
        parser = stages.add_parser(command, help=summary)
        parser.add_argument("file", type=Path, help="a .fountain screenplay or a prose text")
        parser.add_argument("--title", default="", help="the film's title (default: the file's)")
        parser.add_argument("--style", default="cinematic", help="image style preset")
        parser.add_argument("--target-duration", type=int, default=90, help="seconds")
        parser.add_argument("--voice", default="male_narrator", help="the narrator voice")
        parser.add_argument("--aspect", choices=tuple(ASPECTS), default="16:9")
        parser.add_argument("--resolution", choices=tuple(HEIGHTS), default="720p")
        parser.add_argument("--render-height", type=int, help="a smaller picture (e.g. 180)")
        parser.add_argument("--image-engine", choices=("storyboard", "diffusers"))
        parser.add_argument("--burn-subtitles", action="store_true")
        parser.add_argument("--seed", type=int, default=0)
        parser.set_defaults(job_type=job_type)
        common(parser, _film)


def _film(args: argparse.Namespace, storage: Storage, settings: Settings) -> dict[str, Any]:
    # Imported here: the graph brings every stage's engine, which `stage script-analysis` skips.
    from services.ai_job.runners import STAGES, TARGETS
    from services.ai_job.stage_adapters import options_from
    from services.ai_job.stage_graph import GraphRunner, RunContext, order

    data = args.file.read_bytes()
    if len(data) > MAX_SCRIPT_BYTES:
        raise InvalidArgument.field("file", f"{args.file} is larger than {MAX_SCRIPT_BYTES} bytes")
    script = data.decode("utf-8", errors="replace")
    extra: dict[str, Any] = {"burn_subtitles": args.burn_subtitles, "seed": args.seed}
    if args.render_height:
        extra["render_height"] = args.render_height
    if args.image_engine:
        extra["image_engine"] = args.image_engine
    job = {
        "id": "cli",
        "attempt": 1,
        "job_type": args.job_type,
        "parameters": {
            "style": args.style,
            "duration_seconds": args.target_duration,
            "voice": args.voice,
            "aspect_ratio": args.aspect,
            "resolution": args.resolution,
            "extra": extra,
        },
    }
    title = args.title or args.file.stem.replace("-", " ").replace("_", " ").title()
    context = RunContext(
        job=job,
        project={"script": script, "title": title},
        storage=storage,
        key_prefix=f"cli/{hashlib.sha256(data).hexdigest()[:12]}",
        report=_progress(),
        cancelled=lambda: False,
        options=options_from(settings),
    )
    runner = GraphRunner(
        storage,
        retries=settings.stage_retries,
        retry_base_seconds=settings.stage_retry_base_seconds,
        parallelism=settings.stage_parallelism,
    )
    started = time.monotonic()
    runner.run(context, order(STAGES, TARGETS[args.job_type]))
    return {
        "title": title,
        "seconds": round(time.monotonic() - started, 1),
        "result": context.outputs,
        "artifacts": {item["kind"]: item["key"] for item in context.artifacts},
    }


def _progress() -> Any:
    shown: dict[str, int] = {}

    def report(percent: float, stage: str, message: str) -> None:
        step = int(percent // 5)
        if shown.get(stage, -1) < step:
            shown[stage] = step
            log.info("%5.1f%% %s: %s", percent, stage, message)

    return report
