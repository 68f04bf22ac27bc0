"""Uploads: checked and queued as `youtube_upload` jobs, their tokens handed to workers, their
videos recorded (the project becomes PUBLISHED), and their status joined with YouTube's."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from services.ai_job.ai_job_service import AIJobService
from services.ai_job.records import Job
from services.common import errors
from services.common.caller import Caller
from services.common.config import Settings
from services.common.db import Database, utcnow
from services.project.project_service import ProjectService
from services.youtube.connection import Connections
from services.youtube.google_api import SCOPE_MANAGE, GrantRefused
from services.youtube.metadata import UploadMetadata
from services.youtube.models import YouTubeUploadRow
from services.youtube.records import BYTES_SHARE, AccessToken, Upload, watch_url

log = logging.getLogger(__name__)

SYSTEM = Caller(None, is_admin=True, actor="services/youtube")
JOB_TYPE = "youtube_upload"
# YouTube's status.uploadStatus -> our state, once the bytes are there.
YOUTUBE_STATES = {
    "uploaded": "processing",
    "processed": "processed",
    "failed": "failed",
    "rejected": "rejected",
    "deleted": "failed",
}


class Uploads:
    """Queue uploads, serve their workers, and report where they stand."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        connections: Connections,
        projects: ProjectService,
        jobs: AIJobService,
    ) -> None:
        self.database = database
        self.settings = settings
        self.connections = connections
        self.projects = projects
        self.jobs = jobs

    def uploadable(self) -> tuple[str, ...]:
        """Return the project statuses an upload may start from."""
        return (
            ("approved",) if self.settings.youtube_require_approval else ("completed", "approved")
        )

    async def upload(
        self, user_id: int, project_id: int, metadata: UploadMetadata, request_id: str = ""
    ) -> Upload:
        """Check the project and the channel, then queue the upload job."""
        metadata.check()
        caller = Caller(user_id)
        project = await self.projects.get_project(project_id, caller)  # others': NOT_FOUND
        if project.deleted_at is not None:
            raise errors.NotFound(f"projects/{project_id} not found")
        if project.status not in self.uploadable():
            wanted = " or ".join(s.upper() for s in self.uploadable())
            raise errors.FailedPrecondition(
                f"only a {wanted} project can be uploaded, not {project.status.upper()}",
                reason="PROJECT_NOT_UPLOADABLE",
                metadata={"status": project.status.upper()},
            )
        if not any(a.get("kind") == "video" for a in project.artifacts):
            raise errors.FailedPrecondition("the project has no video yet", reason="NO_VIDEO")
        # A refresh proves the grant still works: a revoked one is refused now, not in a worker.
        _, connection = await self.connections.access_token(user_id, refresh=True)
        if metadata.playlist_id and SCOPE_MANAGE not in connection.scopes.split():
            raise errors.FailedPrecondition(
                "adding to a playlist needs playlist access: reconnect with manage_playlists",
                reason="YOUTUBE_SCOPE_MISSING",
            )
        job = await self.jobs.create_job(
            project_id,
            user_id,
            JOB_TYPE,
            {"extra": {"youtube": metadata.to_job()}},
            request_id=request_id,
            caller=caller,
        )
        row = await self._ensure_row(job.id, job)
        return _joined(row, job)

    async def _ensure_row(self, upload_id: int, job: Job) -> YouTubeUploadRow:
        """Return the upload's row, storing it first if no call has yet."""
        async with self.database.session() as db:
            row = await db.get(YouTubeUploadRow, upload_id)
        if row is not None:  # a replayed request_id finds the upload of its first call
            return row
        now = utcnow()
        row = YouTubeUploadRow(
            id=upload_id,
            job_id=job.id,
            owner_id=job.owner_id,
            project_id=job.project_id,
            video_id="",
            upload_status="",
            processing_status="",
            failure_reason="",
            created_at=now,
            updated_at=now,
        )
        try:
            async with self.database.session() as db, db.begin():
                db.add(row)
        except IntegrityError:  # the worker and UploadVideo raced; either row is the same
            async with self.database.session() as db:
                stored = await db.get(YouTubeUploadRow, upload_id)
            if stored is None:
                raise
            return stored
        return row

    async def _chain(self, job_name_id: int) -> tuple[Job, int]:
        """Return a worker's job and the id of its chain's first job (the upload's id)."""
        job = await self.jobs.get_job(job_name_id, SYSTEM)
        if job.job_type != JOB_TYPE:
            raise errors.NotFound(f"jobs/{job_name_id} is not an upload")
        return job, int(job.parameters.get("chain_root") or job.id)

    async def issue_token(self, job_id: int, refresh: bool) -> AccessToken:
        """Return a current access token for the channel of the job's owner."""
        job, upload_id = await self._chain(job_id)
        # The worker may ask before UploadVideo stored the row: the job says all it needs.
        await self._ensure_row(upload_id, job)
        async with self.database.session() as db, db.begin():
            upload = await db.get(YouTubeUploadRow, upload_id, with_for_update=True)
            if upload is not None:
                upload.job_id = job.id
        token, row = await self.connections.access_token(job.owner_id, refresh=refresh)
        expires = row.access_expires_at or utcnow()
        return AccessToken(token, expires, upload_id)

    async def record_video(self, job_id: int, video_id: str) -> Upload:
        """Store the uploaded video's id; the project becomes PUBLISHED."""
        errors.InvalidArgument.require(video_id=video_id)
        job, upload_id = await self._chain(job_id)
        async with self.database.session() as db, db.begin():
            row = await db.get(YouTubeUploadRow, upload_id, with_for_update=True)
            if row is None:
                raise errors.NotFound(f"youtube/uploads/{upload_id} not found")
            row.video_id, row.upload_status, row.updated_at = video_id[:32], "uploaded", utcnow()
            project = await self.projects.load(db, row.project_id, SYSTEM)
            if project.status != "published":
                await self.projects.transition(
                    db,
                    project,
                    "published",
                    SYSTEM.name,
                    f"uploaded to YouTube: {watch_url(video_id)}",
                    job.id,
                )
        log.info("youtube video recorded", extra={"upload_id": upload_id, "video_id": video_id})
        return _joined(row, job)

    async def status(self, upload_id: int, caller: Caller) -> Upload:
        """Return an upload, asking YouTube how its video is doing once it has one."""
        async with self.database.session() as db:
            row = await db.get(YouTubeUploadRow, upload_id)
        if row is None or not caller.may_act_for(row.owner_id):
            raise errors.NotFound(f"youtube/uploads/{upload_id} not found")
        # The newest job of the chain: a retry's worker moves job_id when it asks for a token.
        latest = await self.jobs.get_job(row.job_id, SYSTEM)
        if row.video_id and row.upload_status != "processed":
            await self._refresh_video(row)
        return _joined(row, latest)

    async def _refresh_video(self, row: YouTubeUploadRow) -> None:
        """Cache YouTube's status of the video; YouTube unreachable: keep what we have."""
        try:
            token, _ = await self.connections.access_token(row.owner_id)
            body = await self.connections.google.get(
                token, "videos", {"part": "status,processingDetails", "id": row.video_id}
            )
        except (errors.DomainError, GrantRefused) as error:
            log.info("youtube status not refreshed", extra={"why": type(error).__name__})
            return
        items = body.get("items") or []
        async with self.database.session() as db, db.begin():
            stored = await db.get(YouTubeUploadRow, row.id, with_for_update=True)
            if stored is None:
                return
            if not items:
                stored.upload_status, stored.failure_reason = "deleted", "the video is gone"
            else:
                status = items[0].get("status") or {}
                details = items[0].get("processingDetails") or {}
                stored.upload_status = str(status.get("uploadStatus", ""))[:32]
                stored.processing_status = str(details.get("processingStatus", ""))[:32]
                why = status.get("failureReason") or status.get("rejectionReason") or ""
                stored.failure_reason = str(why)[:200]
            stored.updated_at = utcnow()
            row.upload_status, row.processing_status = (
                stored.upload_status,
                stored.processing_status,
            )
            row.failure_reason, row.updated_at = stored.failure_reason, stored.updated_at


def _joined(row: YouTubeUploadRow, job: Job) -> Upload:
    """Join our job's state with YouTube's view of the video."""
    error = ""
    if job.status == "queued":
        state = "queued"
    elif job.status == "running":
        state = "uploading"
    elif job.status in ("failed", "cancelled"):
        state, error = "failed", job.error or job.message or job.status
    else:
        state = YOUTUBE_STATES.get(row.upload_status, "processing")
        error = row.failure_reason
    # Percent of the bytes sent: the job's bar gives bytes its first BYTES_SHARE.
    progress = 100.0 if row.video_id else min(100.0, job.progress / BYTES_SHARE)
    return Upload(
        id=row.id,
        project_id=row.project_id,
        job_id=job.id,
        state=state,
        progress=progress,
        video_id=row.video_id,
        video_url=watch_url(row.video_id),
        upload_status=row.upload_status,
        processing_status=row.processing_status,
        error=error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
