"""Helpers for YouTube tests: a finished project with a video, and a connected channel."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from filmstudio.v1 import youtube_pb2, youtube_pb2_grpc

from services.common.caller import Caller
from services.common.server import StudioServer
from services.common.storage_setup import storage_from_settings
from services.project.project_service import ProjectService
from tests.support.jobs import Studio
from tests.support.youtube_fake import FakeYouTube, consent

ADMIN = Caller(None, is_admin=True, actor="tests")
# Not a multiple of 256 KiB, so the last chunk is a short one.
VIDEO_BYTES = 5 * 256 * 1024 + 12345
UPLOAD_SETTINGS: dict[str, Any] = {
    "YOUTUBE_CHUNK_BYTES": 256 * 1024,
    "YOUTUBE_RETRY_BASE_SECONDS": 0.02,
    "YOUTUBE_TOKEN_KEYS": "k1:" + "A" * 43,
}


async def finish_project(server: StudioServer, project: str, size: int = VIDEO_BYTES) -> str:
    """Make a project COMPLETED with a stored video and thumbnail; return the video's sha256."""
    project_id = int(project.split("/")[1])
    storage = storage_from_settings(server.app.settings)
    video = os.urandom(size)
    prefix = f"projects/{project_id}/jobs/render"
    storage.put_bytes(f"{prefix}/video.mp4", video, content_type="video/mp4")
    storage.put_bytes(f"{prefix}/thumbnail.png", b"\x89PNG\r\n\x1a\n" + os.urandom(2048))
    projects = server.app.get(ProjectService)
    for status in ("queued", "generating", "completed"):
        await projects.update_project_status(project_id, status, ADMIN, "test render")
    await projects.record_outputs(
        project_id,
        1,
        [
            {"kind": "video", "key": f"{prefix}/video.mp4", "content_type": "video/mp4"},
            {"kind": "thumbnail", "key": f"{prefix}/thumbnail.png", "content_type": "image/png"},
        ],
    )
    return hashlib.sha256(video).hexdigest()


def youtube_stub(studio: Studio) -> Any:
    """Return a YouTubeService stub."""
    return youtube_pb2_grpc.YouTubeServiceStub(studio.channel)


async def connect(studio: Studio, fake: FakeYouTube, manage_playlists: bool = True) -> Any:
    """Connect the studio user's channel through the fake's consent screen."""
    stub = youtube_stub(studio)
    start = await stub.ConnectYouTubeAccount(
        youtube_pb2.ConnectYouTubeAccountRequest(manage_playlists=manage_playlists),
        metadata=studio.auth,
    )
    code, state = await consent(start.authorization_url)
    assert state == start.state
    done = await stub.CompleteYouTubeConnection(
        youtube_pb2.CompleteYouTubeConnectionRequest(code=code, state=state), metadata=studio.auth
    )
    return done.channel
