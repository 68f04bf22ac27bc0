"""The YouTube domain's protos <-> records."""

from __future__ import annotations

from filmstudio.v1 import youtube_pb2

from services.common.convert import resource_id, timestamp
from services.youtube.records import Channel, Playlist, Upload

PRIVACY: dict[int, str] = {
    youtube_pb2.PRIVACY_STATUS_UNSPECIFIED: "private",
    youtube_pb2.PRIVACY_STATUS_PRIVATE: "private",
    youtube_pb2.PRIVACY_STATUS_UNLISTED: "unlisted",
    youtube_pb2.PRIVACY_STATUS_PUBLIC: "public",
}
PRIVACY_ENUM = {name: value for value, name in PRIVACY.items() if value}
STATE_ENUM = {
    name.removeprefix("UPLOAD_STATE_").lower(): value
    for name, value in youtube_pb2.UploadState.items()
    if value
}


def privacy(value: int) -> str:
    """Return the domain's privacy name; an unknown number stays visible to the checks."""
    return PRIVACY.get(value, f"unknown-{value}")


def upload_id(name: str) -> int:
    """Parse "youtube/uploads/{id}"."""
    return resource_id(name, "youtube/uploads")


def channel_message(channel: Channel) -> youtube_pb2.YouTubeChannel:
    """Describe a connected channel."""
    return youtube_pb2.YouTubeChannel(
        channel_id=channel.channel_id,
        title=channel.title,
        scopes=channel.scopes,
        connect_time=timestamp(channel.connected_at),
    )


def upload_message(upload: Upload) -> youtube_pb2.Upload:
    """Describe an upload."""
    return youtube_pb2.Upload(
        name=f"youtube/uploads/{upload.id}",
        project=f"projects/{upload.project_id}",
        job=f"jobs/{upload.job_id}",
        state=STATE_ENUM.get(upload.state, 0),  # type: ignore[arg-type]
        progress=upload.progress,
        video_id=upload.video_id,
        video_url=upload.video_url,
        upload_status=upload.upload_status,
        processing_status=upload.processing_status,
        error=upload.error,
        create_time=timestamp(upload.created_at),
        update_time=timestamp(upload.updated_at),
    )


def playlist_message(playlist: Playlist) -> youtube_pb2.Playlist:
    """Describe a playlist."""
    return youtube_pb2.Playlist(
        playlist_id=playlist.playlist_id,
        title=playlist.title,
        description=playlist.description,
        privacy_status=PRIVACY_ENUM.get(playlist.privacy_status, 0),  # type: ignore[arg-type]
    )
