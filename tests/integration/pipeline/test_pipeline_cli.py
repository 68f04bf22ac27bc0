"""`filmstudio stage ...` as a user runs it, on the embedded local storage."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import services.cli

SCRIPT = "INT. LAB - NIGHT\n\nANNA\nIt works!\n\nBEN\nOf course it works.\n"
Run = Callable[..., tuple[int, dict[str, Any] | None]]


@pytest.fixture
def filmstudio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> Iterator[Run]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # main() points logging at captured streams
    monkeypatch.setenv("FILMSTUDIO_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("S3_BUCKET_NAME", raising=False)

    def run(*argv: str) -> tuple[int, dict[str, Any] | None]:
        code = services.cli.main(list(argv))
        lines = capsys.readouterr().out.strip().splitlines()
        last = lines[-1] if lines else ""
        return code, json.loads(last) if last.startswith("{") else None

    yield run
    root.handlers[:], root.level = handlers, level


def test_the_three_stages_run_in_a_row_under_one_job(filmstudio: Run, tmp_path: Path) -> None:
    script = tmp_path / "lab.fountain"
    script.write_text(SCRIPT)
    job = f"cli-{hashlib.sha256(SCRIPT.encode()).hexdigest()[:12]}"
    code, analysis = filmstudio("stage", "script-analysis", str(script), "--target-duration", "12")
    assert code == 0
    assert analysis is not None
    assert (analysis["job_id"], analysis["stats"]["speaking_characters"]) == (job, 2)
    code, voice = filmstudio("stage", "voice", "--job-id", job, "--narrator", "female_narrator")
    assert code == 0
    assert voice is not None
    assert voice["lines"] == 2
    code, subtitles = filmstudio("stage", "subtitles", "--job-id", job)
    assert code == 0
    assert subtitles is not None
    vtt = Path(subtitles["urls"]["vtt"].removeprefix("file://"))
    assert vtt.read_text().startswith("WEBVTT\n\n1\n")
    assert vtt.parent.parent == tmp_path / "var" / "artifacts" / "jobs" / job


def test_voice_accepts_a_script_and_chosen_voices(filmstudio: Run, tmp_path: Path) -> None:
    script = tmp_path / "lab.fountain"
    script.write_text(SCRIPT)
    code, voice = filmstudio("stage", "voice", str(script), "--job-id", "demo",
                             "--engine", "espeak-ng", "--voice", "ANNA=en-gb+f2:p60")  # fmt: skip
    assert code == 0
    assert voice is not None
    assert voice["voices"]["ANNA"] == "espeak-ng:en-gb+f2:p60:r1"
    assert Path(voice["urls"]["dialogue"].removeprefix("file://")).stat().st_size > 10_000


@pytest.mark.parametrize(
    ("argv", "content"),
    [
        (["stage", "script-analysis", "{file}"], b"\x00\x01binary\xff"),
        (["stage", "script-analysis", "{file}", "--wpm", "5"], b"INT. LAB - DAY\n\nHi."),
        (["stage", "voice"], None),
        (["stage", "subtitles", "--job-id", "never-ran"], None),
        (["stage", "voice", "--job-id", "../../etc"], None),
        (["stage", "script-analysis", "/nonexistent/script.fountain"], None),
    ],
    ids=["binary", "bad-option", "no-job", "missing-timings", "traversal", "missing-file"],
)
def test_bad_input_exits_with_status_2_and_writes_nothing(
    filmstudio: Run, tmp_path: Path, argv: list[str], content: bytes | None
) -> None:
    file = tmp_path / "input.fountain"
    if content is not None:
        file.write_bytes(content)
    code, summary = filmstudio(*[arg.replace("{file}", str(file)) for arg in argv])
    assert (code, summary) == (2, None)
    artifacts = tmp_path / "var" / "artifacts"
    assert not artifacts.exists() or not any(p.is_file() for p in artifacts.rglob("*"))


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_stdout_is_one_json_document_and_the_logs_go_to_stderr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys, log_format: str
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setenv("FILMSTUDIO_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LOG_FORMAT", log_format)
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    monkeypatch.delenv("S3_BUCKET_NAME", raising=False)
    script = tmp_path / "lab.fountain"
    script.write_text(SCRIPT)
    try:
        code = services.cli.main(["stage", "script-analysis", str(script)])
        captured = capsys.readouterr()
    finally:
        root.handlers[:], root.level = handlers, level
    assert code == 0
    summary = json.loads(captured.out)  # the whole of stdout, as `| jq` reads it
    assert summary["artifacts"]["breakdown"].endswith("/script/breakdown.json")
    assert "script-analysis 100% breakdown stored" in captured.err


def test_the_film_command_makes_the_film_and_the_stage_commands_reuse_it(
    filmstudio: Run, tmp_path: Path
) -> None:
    script = tmp_path / "lab.fountain"
    script.write_text(SCRIPT)
    small = ("--render-height", "90", "--voice", "female_narrator")
    code, film = filmstudio("stage", "film", str(script), *small)
    assert code == 0
    assert film is not None
    assert film["title"] == "Lab"
    assert {"video", "video_preview", "thumbnail", "subtitles_srt", "scene_images"} <= set(
        film["artifacts"]
    )
    assert Path(film["urls"]["video"].removeprefix("file://")).stat().st_size > 1000
    assert film["result"]["video_composition"]["height"] == 90

    code, again = filmstudio("stage", "image", str(script), *small)
    assert code == 0
    assert again is not None
    assert again["artifacts"]["scene_images"] == film["artifacts"]["scene_images"], "reused"

    code, other = filmstudio("stage", "image", str(script), *small, "--style", "noir")
    assert code == 0
    assert other is not None
    assert other["artifacts"]["scene_images"] != film["artifacts"]["scene_images"]


def test_the_film_command_refuses_bad_input_with_exit_status_2(
    filmstudio: Run, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.fountain"
    empty.write_text("   ")
    assert filmstudio("stage", "film", str(empty))[0] == 2
    assert filmstudio("stage", "video", str(tmp_path / "missing.fountain"))[0] == 2
