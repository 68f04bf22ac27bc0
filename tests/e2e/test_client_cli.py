"""The terminal client as a user runs it against `filmstudio run`: sign up, a project, a film."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.studio import free_port
from tests.support.studio_process import FILMSTUDIO, StudioProcess, studio_process

PASSWORD = "a long passphrase for the client"
# Two lines of dialogue: a film of a few seconds, rendered small, in well under a minute.
SCRIPT = """INT. WORKSHOP - NIGHT

ADA
The engine runs.

BOB
Then let us ship it.
"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> Iterator[StudioProcess]:
    with studio_process(tmp_path_factory.mktemp("client")) as running:
        yield running


def _cli(
    studio: StudioProcess, *args: str, stdin: str = "", timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FILMSTUDIO, *args, "--server", studio.grpc_target],
        input=stdin,
        capture_output=True,
        text=True,
        env=studio.env,
        timeout=timeout,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_generate_watch_reaches_100_percent_and_the_film_downloads(studio, tmp_path) -> None:
    signup = ("signup", "--email", "cli@example.com", "--password-stdin", "--json")
    assert json.loads(_ok(_cli(studio, *signup, stdin=PASSWORD + "\n")))["email"]
    stored = Path(studio.env["XDG_CONFIG_HOME"]) / "filmstudio" / "credentials.json"
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600, "tokens readable by the owner only"
    script = tmp_path / "short.fountain"
    script.write_text(SCRIPT)
    create = ("project", "create", "--script", str(script), "--duration", "10", "--json")
    project = json.loads(_ok(_cli(studio, *create)))["name"]
    assert project in _ok(_cli(studio, "projects"))

    watched = _cli(studio, "generate", project, "--watch", "--render-height", "144", timeout=240)
    output = _ok(watched)
    percents = [float(p) for p in re.findall(r"^\s*([0-9.]+) %", output, re.MULTILINE)]
    assert percents, output
    assert percents[-1] == 100.0, output
    assert percents == sorted(percents), "progress only goes forward"
    assert {"voice_synthesis", "video_composition"} <= set(re.findall(r"% (\w+):", output))

    jobs = json.loads(_ok(_cli(studio, "jobs", "--json")))
    assert jobs[0]["status"] == "JOB_STATUS_SUCCEEDED"
    film = tmp_path / "film.mp4"
    _ok(_cli(studio, "download", project, "--what", "mp4", "-o", str(film)))
    assert film.read_bytes()[4:8] == b"ftyp", "an MP4"
    subtitles = Path(
        _ok(_cli(studio, "download", jobs[0]["name"], "--what", "vtt", "-o", str(tmp_path))).strip()
    )
    assert subtitles.read_text().startswith("WEBVTT")
    balance = json.loads(_ok(_cli(studio, "credits", "--history", "--json")))
    assert int(balance["credits"]["available"]) < int(balance["transactions"][-1]["amount"])


def test_errors_are_one_clear_line_without_a_traceback(studio) -> None:
    signup = ("signup", "--email", "errors@example.com", "--password-stdin")
    _ok(_cli(studio, *signup, stdin=PASSWORD + "\n"))
    stored = Path(studio.env["XDG_CONFIG_HOME"]) / "filmstudio" / "credentials.json"
    sessions = json.loads(stored.read_text())
    spent = sessions[studio.grpc_target]["refresh_token"]
    sessions[studio.grpc_target]["access_expires_at"] = 0  # as if it had expired
    stored.write_text(json.dumps(sessions))
    _ok(_cli(studio, "projects"))
    renewed = json.loads(stored.read_text())[studio.grpc_target]
    assert renewed["refresh_token"] != spent, "an expired access token is refreshed first"
    assert renewed["access_expires_at"] > 0
    missing = _cli(studio, "download", "projects/987654321")
    login = ("login", "--email", "errors@example.com", "--password-stdin")
    unreachable = subprocess.run(
        [FILMSTUDIO, *login, "--server", f"127.0.0.1:{free_port()}"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=studio.env,
        timeout=30,
        check=False,
    )
    _ok(_cli(studio, "logout"))
    signed_out = _cli(studio, "credits")
    for result, status, words in (
        (missing, 4, "not found"),
        (unreachable, 5, "cannot reach the studio"),
        (signed_out, 3, "filmstudio login"),
    ):
        assert result.returncode == status, result.stderr
        assert words in result.stderr
        assert "Traceback" not in result.stderr


def test_cancel_stops_a_job_and_generate_json_is_one_document(studio, tmp_path) -> None:
    signup = ("signup", "--email", "cancel@example.com", "--password-stdin")
    _ok(_cli(studio, *signup, stdin=PASSWORD + "\n"))
    script = tmp_path / "short.fountain"
    script.write_text(SCRIPT)
    project = _ok(_cli(studio, "project", "create", "--script", str(script))).strip()
    job = json.loads(_ok(_cli(studio, "generate", project, "--json")))
    assert job["status"] in ("JOB_STATUS_QUEUED", "JOB_STATUS_RUNNING")
    assert _ok(_cli(studio, "cancel", job["name"])).startswith(f"{job['name']}: ")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        (listed,) = json.loads(_ok(_cli(studio, "jobs", "--project", project, "--json")))
        if listed["status"] == "JOB_STATUS_CANCELLED":
            break
        time.sleep(0.5)
    assert listed["status"] == "JOB_STATUS_CANCELLED"
    balance = json.loads(_ok(_cli(studio, "credits", "--json")))["credits"]
    assert int(balance.get("reserved", 0)) == 0, "the hold is released"
