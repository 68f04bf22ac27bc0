"""Fetch a finished job's or project's artifact: a presigned https URL, or a local file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

# What users ask for, by the artifact kind the studio records.
KINDS = {
    "mp4": "video",
    "srt": "subtitles_srt",
    "vtt": "subtitles_vtt",
    "thumbnail": "thumbnail",
}


class DownloadError(Exception):
    """The artifact is not there or cannot be fetched from here."""


def pick(artifacts: Any, what: str) -> Any:
    """Return the artifact of the kind `what` names."""
    kind = KINDS[what]
    for artifact in artifacts:
        if artifact.kind == kind:
            return artifact
    raise DownloadError(f"no {what} yet: it appears when a full generation succeeds")


def fetch(artifact: Any, output: Path | None) -> Path:
    """Save the artifact to `output` (default: its file name here) and return the path."""
    target = output or Path(artifact.key.rsplit("/", 1)[-1])
    if target.is_dir():
        target = target / artifact.key.rsplit("/", 1)[-1]
    url = urlparse(artifact.download_url)
    if url.scheme == "file":
        # The embedded studio keeps artifacts in a local directory: readable on its machine only.
        source = Path(unquote(url.path))
        if not source.is_file():
            raise DownloadError(
                f"{artifact.key} is stored on the studio's own disk ({source}), "
                "which this machine cannot read"
            )
        shutil.copyfile(source, target)
        return target
    if url.scheme not in ("http", "https"):
        raise DownloadError(f"{artifact.key} has no download URL")
    import httpx

    with (
        httpx.stream("GET", artifact.download_url, timeout=60, follow_redirects=True) as answer,
        target.open("wb") as handle,
    ):
        if answer.status_code != 200:
            raise DownloadError(f"download of {artifact.key} failed: HTTP {answer.status_code}")
        for chunk in answer.iter_bytes():
            handle.write(chunk)
    return target
