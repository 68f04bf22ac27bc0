"""`filmstudio stage ...` as a user runs it, on the embedded local storage."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
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


def _shell(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a shell pipeline as a user types it, with the venv's `filmstudio` on the PATH."""
    env = {**os.environ, "FILMSTUDIO_VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "INFO"}
    env.pop("S3_BUCKET_NAME", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_summary_pipes_into_json_tool_and_the_logs_stay_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "lab.fountain").write_text(SCRIPT)
    piped = _shell("filmstudio stage script-analysis lab.fountain | python -m json.tool", tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["stats"]["speaking_characters"] == 2
    assert "100% breakdown stored" in piped.stderr


def test_errors_leave_stdout_empty_and_exit_non_zero(tmp_path: Path) -> None:
    (tmp_path / "binary.fountain").write_bytes(b"\x00\x01binary\xff")
    for command in (
        "filmstudio stage script-analysis missing.fountain",
        "filmstudio stage script-analysis binary.fountain",
        "filmstudio stage script-analysis binary.fountain --wpm nine",
        "filmstudio stage subtitles --job-id never-ran",
    ):
        result = _shell(command, tmp_path)
        assert (result.returncode, result.stdout) == (2, ""), command
        assert result.stderr.strip(), f"{command}: says why on stderr"


def test_print_writes_the_artifact_itself_and_output_writes_a_file(tmp_path: Path) -> None:
    (tmp_path / "lab.fountain").write_text(SCRIPT)
    printed = _shell("filmstudio stage script-analysis lab.fountain --print breakdown", tmp_path)
    assert printed.returncode == 0, printed.stderr
    breakdown = json.loads(printed.stdout)
    assert breakdown["schema"] == "filmstudio.breakdown.v2"
    assert [c["name"] for c in breakdown["characters"]] == ["ANNA", "BEN"]

    written = _shell(
        "filmstudio stage script-analysis lab.fountain --print breakdown --output b.json", tmp_path
    )
    assert (written.returncode, written.stdout) == (0, "")
    assert json.loads((tmp_path / "b.json").read_text()) == breakdown

    unknown = _shell("filmstudio stage script-analysis lab.fountain --print nothing", tmp_path)
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert "this stage made breakdown" in unknown.stderr


def test_a_stage_command_imports_no_server_database_or_s3_client(tmp_path: Path) -> None:
    # What keeps `filmstudio stage` starting in a fraction of a second (bench/cli_startup.py).
    (tmp_path / "lab.fountain").write_text(SCRIPT)
    probe = (
        "import sys, services.cli; code = services.cli.main(['stage', 'script-analysis', "
        "'lab.fountain']); heavy = {'sqlalchemy', 'grpc', 'boto3', 'services.bootstrap'}; "
        "print(sorted(heavy & set(sys.modules)), file=sys.stderr); sys.exit(code)"
    )
    result = _shell(f'python -c "{probe}" >/dev/null', tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"
