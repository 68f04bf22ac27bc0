"""Where ffmpeg comes from: $FFMPEG, else the PATH, else the build imageio-ffmpeg ships."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.ai_job.pipeline.media_tools import ffmpeg_exe
from services.ai_job.pipeline.stage import ToolFailed, find_tool


@pytest.fixture(autouse=True)
def fresh_lookup() -> Iterator[None]:
    ffmpeg_exe.cache_clear()
    yield
    ffmpeg_exe.cache_clear()


def test_ffmpeg_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FFMPEG", sys.executable)
    assert ffmpeg_exe() == sys.executable
    assert find_tool("ffmpeg") == sys.executable


def test_an_ffmpeg_setting_that_is_not_a_program_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FFMPEG", "/nowhere/ffmpeg")
    with pytest.raises(ToolFailed, match="FFMPEG"):
        ffmpeg_exe()


def test_the_path_comes_next_then_imageio_ffmpeg(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FFMPEG", raising=False)
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ffmpeg_exe() == str(fake)
    ffmpeg_exe.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert shutil.which("ffmpeg") is None
    assert "imageio_ffmpeg" in ffmpeg_exe()


def test_other_tools_come_from_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nowhere")
    with pytest.raises(ToolFailed, match="not installed"):
        find_tool("espeak-ng")
