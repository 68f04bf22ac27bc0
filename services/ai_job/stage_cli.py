"""`filmstudio stage ...`: run one pipeline stage from the command line, artifacts to storage.

    filmstudio stage script-analysis script.fountain --target-duration 90
    filmstudio stage voice --job-id cli-0123abcd4567     (or: voice breakdown.json / script)
    filmstudio stage subtitles --job-id cli-0123abcd4567 (or: subtitles timings.json)
    filmstudio stage film script.fountain --resolution 720p (also: image, video, thumbnail)

Artifacts go to the configured storage under `jobs/<job id>/`. Standard output carries one JSON
summary with their keys and URLs, or with `--print NAME` one artifact itself (`--print breakdown`),
or nothing with `--output FILE`; log lines and errors go to standard error (exit status 2 on bad
input or a failed stage), so the output pipes into `jq`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.ai_job import film_cli
from services.ai_job.pipeline.script_analysis import (
    MAX_SCRIPT_BYTES,
    AnalysisOptions,
    run_script_analysis,
)
from services.ai_job.pipeline.stage import StageCancelled, ToolFailed, stage_key
from services.ai_job.pipeline.subtitles import SubtitleOptions, run_subtitles
from services.ai_job.pipeline.voice import VoiceOptions, run_voice_synthesis
from services.ai_job.pipeline.voice_engines import NARRATOR_VOICES, engine_from_config
from services.ai_job.stage_graph import stage_input_errors
from services.common.config import Settings
from services.common.errors import DomainError, InvalidArgument
from services.common.logs import configure_logging
from services.common.storage import Storage, validate_key
from services.common.storage_setup import storage_from_settings

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `stage script-analysis|voice|subtitles|image|video|thumbnail|film`."""
    stage = subparsers.add_parser("stage", help="run one media pipeline stage")
    stages = stage.add_subparsers(dest="stage", required=True)

    analysis = stages.add_parser("script-analysis", help="Fountain or prose -> breakdown.json")
    analysis.add_argument("file", type=Path, help="a .fountain screenplay or a prose text")
    analysis.add_argument("--mode", choices=("auto", "fountain", "prose"), default="auto")
    analysis.add_argument("--style", default="cinematic", help="image style preset or words")
    analysis.add_argument("--target-duration", type=float, help="fit the film to N seconds")
    analysis.add_argument("--wpm", type=int, default=150, help="speaking pace, words/minute")
    _common(analysis, _script_analysis)

    voice = stages.add_parser("voice", help="breakdown -> line tracks, dialogue.wav, timings")
    voice.add_argument("file", type=Path, nargs="?", help="breakdown.json or a script")
    voice.add_argument("--narrator", choices=NARRATOR_VOICES, default="male_narrator")
    voice.add_argument("--narrate-action", action="store_true", help="read action lines aloud")
    voice.add_argument("--voice", action="append", default=[], metavar="CHARACTER=VOICE")
    voice.add_argument("--gender", action="append", default=[], metavar="CHARACTER=male|female")
    voice.add_argument("--lufs", type=float, default=-16.0, help="integrated loudness target")
    voice.add_argument("--engine", default="piper", choices=("piper", "espeak-ng", "command"))
    voice.add_argument("--engine-command", help="TTS argv with {output} {voice} {wpm} slots")
    voice.add_argument("--engine-voices", default="", help="comma-separated voice names")
    _common(voice, _voice)

    subtitles = stages.add_parser("subtitles", help="voice timings -> SRT and WebVTT")
    subtitles.add_argument("file", type=Path, nargs="?", help="timings.json")
    subtitles.add_argument("--frame-rate", type=float, default=24.0)
    subtitles.add_argument("--max-cps", type=float, default=20.0, help="17 for children")
    _common(subtitles, _subtitles)

    film_cli.register(stages, _with_settings)


def _common(parser: argparse.ArgumentParser, run: Callable[..., dict[str, Any]]) -> None:
    parser.add_argument("--job-id", help="artifacts go under jobs/<job id>/")
    _output_options(parser)
    parser.set_defaults(handler=lambda args, settings: _handle(run, args, settings))


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--print",
        dest="print_artifact",
        metavar="NAME",
        help="write this artifact (e.g. breakdown) instead of the summary",
    )
    parser.add_argument("--output", type=Path, help="write to FILE instead of standard output")


def _with_settings(parser: argparse.ArgumentParser, run: Callable[..., dict[str, Any]]) -> None:
    """Wire a command whose run also takes the settings (the film's, which build a graph)."""

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        return _handle(lambda a, storage: run(a, storage, settings), args, settings)

    _output_options(parser)
    parser.set_defaults(handler=handler)


def _handle(
    run: Callable[..., dict[str, Any]], args: argparse.Namespace, settings: Settings
) -> int:
    # The summary is the command's output: logs go to stderr so stdout stays one JSON document.
    configure_logging(settings.log_level, settings.effective_log_format, stream=sys.stderr)
    storage = storage_from_settings(settings)
    try:
        with stage_input_errors():
            summary = run(args, storage)
        output = _output(summary, storage, args.print_artifact)
        if args.output:
            args.output.write_bytes(output)
        else:
            sys.stdout.buffer.write(output)
            sys.stdout.flush()
    except (DomainError, ToolFailed, StageCancelled, OSError) as error:
        log.error("%s", getattr(error, "message", None) or error)
        return 2
    return 0


def _output(summary: dict[str, Any], storage: Storage, artifact: str | None) -> bytes:
    """Return the summary with the artifacts' URLs, or the one artifact asked for."""
    artifacts: dict[str, str] = summary["artifacts"]
    if artifact is None:
        urls = {name: storage.url(key) for name, key in artifacts.items()}
        return (json.dumps({**summary, "urls": urls}) + "\n").encode()
    if artifact not in artifacts:
        raise InvalidArgument.field(
            "print", f"no artifact {artifact!r}; this stage made {', '.join(sorted(artifacts))}"
        )
    return storage.get_bytes(artifacts[artifact])


def _read(path: Path, limit: int = MAX_SCRIPT_BYTES) -> bytes:
    if path.stat().st_size > limit:
        raise InvalidArgument.field("file", f"{path} is larger than {limit} bytes")
    return path.read_bytes()


def _job(args: argparse.Namespace, data: bytes | None = None) -> str:
    if args.job_id:
        if "/" in args.job_id:
            raise InvalidArgument.field("job_id", "must be one path segment")
        return validate_key(args.job_id, field="job_id")
    if data is None:
        raise InvalidArgument.field("job_id", "give --job-id or an input file")
    return f"cli-{hashlib.sha256(data).hexdigest()[:12]}"


def _progress(stage: str) -> Callable[[float, str], None]:
    shown = [-1]

    def report(fraction: float, message: str) -> None:
        tenth = int(fraction * 10)
        if tenth > shown[0]:
            shown[0] = tenth
            log.info("%s %3.0f%% %s", stage, fraction * 100, message)

    return report


def _load_json(storage: Storage, path: Path | None, key: str) -> Any:
    data = _read(path, 64 * MAX_SCRIPT_BYTES) if path else storage.get_bytes(key)
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidArgument.field("file", f"not JSON: {error}") from None


def _script_analysis(args: argparse.Namespace, storage: Storage) -> dict[str, Any]:
    data = _read(args.file)
    job = _job(args, data)
    options = AnalysisOptions(args.mode, args.style, args.target_duration, args.wpm)
    result = run_script_analysis(
        data,
        storage=storage,
        key_prefix=f"jobs/{job}",
        options=options,
        progress=_progress("script-analysis"),
    )
    return {
        "job_id": job,
        "stats": result.breakdown["stats"],
        "artifacts": result.artifacts,
        "warnings": result.breakdown["timing"]["warnings"],
    }


def _voice(args: argparse.Namespace, storage: Storage) -> dict[str, Any]:
    prefix_data = _read(args.file, 64 * MAX_SCRIPT_BYTES) if args.file else None
    job = _job(args, prefix_data)
    prefix = f"jobs/{job}"
    if args.file and args.file.suffix.lower() != ".json":
        run_script_analysis(_read(args.file), storage=storage, key_prefix=prefix)
        breakdown = _load_json(storage, None, stage_key(prefix, "script", "breakdown.json"))
    else:
        breakdown = _load_json(storage, args.file, stage_key(prefix, "script", "breakdown.json"))
    options = VoiceOptions(
        narrator=args.narrator,
        narrate_action=args.narrate_action,
        voices=_pairs(args.voice),
        genders=_pairs(args.gender),
        target_lufs=args.lufs,
    )
    engine = engine_from_config(args.engine, args.engine_command, args.engine_voices)
    result = run_voice_synthesis(
        breakdown,
        storage=storage,
        key_prefix=prefix,
        options=options,
        engine=engine,
        progress=_progress("voice"),
    )
    timings = result.timings
    return {
        "job_id": job,
        "lines": len(timings["cues"]),
        "duration_s": timings["duration_s"],
        "loudness": timings["loudness"],
        "voices": timings["voices"],
        "artifacts": result.artifacts,
    }


def _pairs(items: list[str]) -> dict[str, str]:
    """Parse repeated NAME=VALUE options (names match character cues in any case)."""
    pairs = dict(item.split("=", 1) for item in items if "=" in item)
    return {name.strip(): value.strip() for name, value in pairs.items()}


def _subtitles(args: argparse.Namespace, storage: Storage) -> dict[str, Any]:
    data = _read(args.file, 64 * MAX_SCRIPT_BYTES) if args.file else None
    job = _job(args, data)
    prefix = f"jobs/{job}"
    timings = _load_json(storage, args.file, stage_key(prefix, "voice", "timings.json"))
    options = SubtitleOptions(frame_rate=args.frame_rate, max_cps=args.max_cps)
    result = run_subtitles(
        timings,
        storage=storage,
        key_prefix=prefix,
        options=options,
        progress=_progress("subtitles"),
    )
    return {"job_id": job, "events": len(result.events), "artifacts": result.artifacts}
