"""YouTubeService, the documented facade: connect a channel, upload films, make playlists."""

from __future__ import annotations

from datetime import datetime

import httpx

from services.ai_job.ai_job_service import AIJobService
from services.common.caller import Caller
from services.common.config import Settings
from services.common.db import Database
from services.project.project_service import ProjectService
from services.youtube import playlists
from services.youtube.connection import Connections
from services.youtube.google_api import GoogleApi
from services.youtube.metadata import UploadMetadata
from services.youtube.records import AccessToken, Channel, ConnectStart, Playlist, Upload
from services.youtube.token_cipher import TokenCipher
from services.youtube.uploads import Uploads


class YouTubeService:
    """The use cases of the YouTube domain."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        projects: ProjectService,
        jobs: AIJobService,
        cipher: TokenCipher,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.db = db
        self.google = GoogleApi(settings, http)
        self.connections = Connections(db, self.google, cipher)
        self.uploads = Uploads(db, settings, self.connections, projects, jobs)

    async def connect_youtube_account(
        self, user_id: int, manage_playlists: bool = True
    ) -> ConnectStart:
        """Start connecting the user's channel: Google's consent URL and its one-time state."""
        return await self.connections.start(user_id, manage_playlists)

    async def complete_youtube_connection(self, user_id: int, code: str, state: str) -> Channel:
        """Finish connecting: exchange the code, read the channel, store the tokens encrypted."""
        return await self.connections.complete(user_id, code, state)

    async def disconnect_youtube_account(self, user_id: int) -> None:
        """Revoke the grant at Google and delete our copy."""
        await self.connections.disconnect(user_id)

    async def upload_video(
        self,
        user_id: int,
        project_id: int,
        title: str,
        description: str = "",
        tags: list[str] | None = None,
        *,
        privacy_status: str = "private",
        publish_at: datetime | None = None,
        category_id: str = "1",
        made_for_kids: bool = False,
        language: str = "",
        playlist_id: str = "",
        request_id: str = "",
    ) -> Upload:
        """Queue the upload of a finished project's video (a `youtube_upload` job)."""
        metadata = UploadMetadata(
            title=title,
            description=description,
            tags=list(tags or []),
            category_id=category_id or "1",
            privacy_status=privacy_status,
            publish_at=publish_at,
            made_for_kids=made_for_kids,
            language=language,
            playlist_id=playlist_id,
        )
        return await self.uploads.upload(user_id, project_id, metadata, request_id)

    async def get_upload_status(self, upload_id: int, caller: Caller) -> Upload:
        """Return an upload: our job's progress joined with YouTube's processing status."""
        return await self.uploads.status(upload_id, caller)

    async def create_playlist(
        self, user_id: int, title: str, description: str = "", privacy_status: str = "private"
    ) -> Playlist:
        """Create a playlist on the user's channel."""
        return await playlists.create_playlist(
            self.connections, user_id, title, description, privacy_status
        )

    async def issue_upload_token(self, job_id: int, refresh: bool = False) -> AccessToken:
        """Hand an upload job's worker a current access token (workers never see refresh tokens)."""
        return await self.uploads.issue_token(job_id, refresh)

    async def record_uploaded_video(self, job_id: int, video_id: str) -> Upload:
        """Record the video an upload job made; the project becomes PUBLISHED."""
        return await self.uploads.record_video(job_id, video_id)
