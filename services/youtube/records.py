"""The YouTube domain's records, as callers see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.records import Record

UPLOAD_STATES = ("queued", "uploading", "processing", "processed", "failed", "rejected")
# The upload job's progress bar: bytes sent fill this share, the thumbnail and playlist the rest.
BYTES_SHARE = 0.9


@dataclass(frozen=True)
class ConnectStart(Record):
    """Where to send the browser, and the state that comes back."""

    authorization_url: str
    state: str


@dataclass(frozen=True)
class Channel(Record):
    """A connected channel."""

    channel_id: str
    title: str
    scopes: list[str]
    connected_at: datetime


@dataclass(frozen=True)
class Playlist(Record):
    """A playlist on the channel."""

    playlist_id: str
    title: str
    description: str
    privacy_status: str


@dataclass(frozen=True)
class Upload(Record):
    """An upload: our job's state joined with YouTube's view of the video."""

    id: int
    project_id: int
    job_id: int
    state: str
    progress: float
    video_id: str
    video_url: str
    upload_status: str
    processing_status: str
    error: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AccessToken(Record):
    """A current access token for an upload's channel."""

    token: str
    expires_at: datetime
    upload_id: int


def watch_url(video_id: str) -> str:
    """Return a video's watch URL."""
    return f"https://www.youtube.com/watch?v={video_id}" if video_id else ""
