"""The `youtube_upload` job's stage, run by a jobs worker: send the video, then its extras.

Workers are stateless and never see refresh tokens: each asks the YouTube service for an
access token (IssueUploadToken, again with `refresh` when YouTube answers 401), keeps the
upload session's URI in object storage beside the job chain's other outputs, and reports the
video (RecordUploadedVideo) once YouTube has it, before the thumbnail and playlist steps.
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from filmstudio.v1 import youtube_pb2, youtube_pb2_grpc

from services.ai_job.pipeline.stage import StageCancelled
from services.ai_job.stage_graph import Progress, RunContext, Stage
from services.common.config import Settings
from services.common.tokens import ServiceToken, TokenCodec
from services.youtube import client as youtube_client
from services.youtube.metadata import metadata_from_job
from services.youtube.records import BYTES_SHARE, watch_url
from services.youtube.resumable import (
    Backoff,
    ChunkedMedia,
    SessionGone,
    retrying,
    send_chunks,
    where_session_stands,
)

log = logging.getLogger(__name__)


class UploadRefused(RuntimeError):
    """The YouTube service would not hand out a token (not connected, revoked): no retry helps."""


class StudioCalls:
    """The worker's two calls to the YouTube service, over a blocking gRPC channel."""

    def __init__(self, settings: Settings, job: str) -> None:
        target = settings.youtube_service_address or settings.jobs_service_address
        self.channel = grpc.insecure_channel(target or settings.grpc_target)
        self.stub = youtube_pb2_grpc.YouTubeServiceStub(self.channel)
        self.token = ServiceToken(TokenCodec.from_settings(settings), "worker:youtube")
        self.job = job

    def _auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token()}"),)

    def access_token(self, refresh: bool = False) -> tuple[str, datetime]:
        """Return an access token and its expiry (naive UTC, as google-auth wants it)."""
        try:
            answer = self.stub.IssueUploadToken(
                youtube_pb2.IssueUploadTokenRequest(job=self.job, refresh=refresh),
                metadata=self._auth(),
                timeout=30,
            )
        except grpc.RpcError as error:
            code = error.code()
            if code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                raise UploadRefused(error.details()) from None
            raise ConnectionError(f"YouTube service: {code.name}") from None
        expiry = answer.expire_time.ToDatetime(tzinfo=UTC).replace(tzinfo=None)
        return answer.access_token, expiry

    def record(self, video_id: str) -> None:
        """Tell the service the video exists (the project becomes PUBLISHED)."""
        self.stub.RecordUploadedVideo(
            youtube_pb2.RecordUploadedVideoRequest(job=self.job, video_id=video_id),
            metadata=self._auth(),
            timeout=30,
        )

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()


def _artifact(project: dict[str, Any], kind: str) -> str:
    for artifact in project.get("artifacts") or []:
        if artifact.get("kind") == kind:
            return str(artifact.get("key", ""))
    return ""


class Session:
    """What this upload has done so far, kept in object storage across workers."""

    def __init__(self, ctx: RunContext) -> None:
        self.storage = ctx.storage
        self.key = f"{ctx.key_prefix}/session.json"
        self.state: dict[str, Any] = (
            json.loads(self.storage.get_bytes(self.key)) if self.storage.exists(self.key) else {}
        )

    def save(self, **changes: Any) -> None:
        """Record progress (the session URI, the video id, steps done)."""
        self.state.update(changes)
        self.storage.put_bytes(self.key, json.dumps(self.state).encode())


def run_upload(settings: Settings, ctx: RunContext, progress: Progress) -> dict[str, Any]:
    """Upload the project's video with its metadata, then its thumbnail and playlist entry."""
    metadata = metadata_from_job(ctx.extra_parameter("youtube") or {})
    # Checked again here: a job can also be made with CreateJob, past UploadVideo's checks.
    metadata.check()
    video_key, thumbnail_key = _artifact(ctx.project, "video"), _artifact(ctx.project, "thumbnail")
    if not video_key:
        raise UploadRefused("the project has no video")
    calls = StudioCalls(settings, f"jobs/{ctx.job['id']}")
    backoff = Backoff(
        settings.youtube_upload_retries, settings.youtube_retry_base_seconds, ctx.cancelled
    )
    session = Session(ctx)
    try:
        youtube, http = youtube_client.build(settings, calls.access_token)
        with tempfile.TemporaryDirectory(prefix="youtube-") as scratch:
            video = ctx.storage.get_file(video_key, Path(scratch) / "video.mp4")
            if not session.state.get("video_id"):
                _send_video(
                    settings,
                    youtube,
                    http,
                    video,
                    metadata.video_body(),
                    session,
                    ctx,
                    progress,
                    backoff,
                )
            video_id = str(session.state["video_id"])
            if not session.state.get("recorded"):
                retrying(lambda: calls.record(video_id), backoff)
                session.save(recorded=True)
            if thumbnail_key and not session.state.get("thumbnail"):
                progress(0.95, "setting the thumbnail")
                thumb = ctx.storage.get_file(
                    thumbnail_key, Path(scratch) / Path(thumbnail_key).name
                )
                media = ChunkedMedia(str(thumb), mimetype=_image_type(thumb), resumable=False)
                retrying(
                    lambda: (
                        youtube.thumbnails()
                        .set(videoId=video_id, media_body=media)
                        .execute(http=http)
                    ),
                    backoff,
                )
                session.save(thumbnail=True)
            if metadata.playlist_id and not session.state.get("playlist"):
                progress(0.98, "adding to the playlist")
                body = {
                    "snippet": {
                        "playlistId": metadata.playlist_id,
                        "resourceId": {"kind": "youtube#video", "videoId": video_id},
                    }
                }
                retrying(
                    lambda: (
                        youtube.playlistItems().insert(part="snippet", body=body).execute(http=http)
                    ),
                    backoff,
                )
                session.save(playlist=True)
    finally:
        calls.close()
    progress(1.0, "uploaded")
    result = {"video_id": video_id, "video_url": watch_url(video_id)}
    return {"artifacts": [], "result": {"youtube_upload": result}}


def _send_video(
    settings: Settings,
    youtube: Any,
    http: Any,
    video: Path,
    body: dict[str, Any],
    session: Session,
    ctx: RunContext,
    progress: Progress,
    backoff: Backoff,
) -> None:
    size = video.stat().st_size

    def sent(done: int) -> None:
        progress(BYTES_SHARE * done / max(size, 1), f"{done} of {size} bytes sent")

    for _ in range(3):  # a forgotten session starts over, a few times at most
        media = ChunkedMedia(
            str(video), mimetype="video/mp4", chunksize=settings.youtube_chunk_bytes, resumable=True
        )
        request = youtube.videos().insert(
            part="snippet,status", body=body, media_body=media, notifySubscribers=False
        )
        try:
            done = _resume(request, http, session, size, backoff)
            if done is None:
                done = send_chunks(
                    request, http, backoff, sent, lambda uri: session.save(uri=uri), ctx.cancelled
                )
        except SessionGone:
            log.warning("youtube upload session gone; starting a new one")
            session.save(uri="")
            continue
        except InterruptedError:
            raise StageCancelled("youtube_upload") from None
        session.save(video_id=str(done["id"]), uri="")
        return
    raise RuntimeError("YouTube kept forgetting the upload session")


def _resume(
    request: Any, http: Any, session: Session, size: int, backoff: Backoff
) -> dict[str, Any] | None:
    """Point the request at a stored session; return the video if it is already complete."""
    uri = session.state.get("uri")
    if not uri:
        return None
    stands = retrying(lambda: where_session_stands(http, uri, size), backoff)
    if isinstance(stands, dict):
        return stands
    request.resumable_uri, request.resumable_progress = uri, stands
    log.info("youtube upload resumed", extra={"from_byte": stands, "size": size})
    return None


def _image_type(path: Path) -> str:
    return "image/png" if path.suffix.lower() == ".png" else "image/jpeg"


def upload_stage(settings: Settings) -> Stage:
    """Return the one stage of a `youtube_upload` job, bound to the worker's settings."""

    def inputs(ctx: RunContext) -> dict[str, Any]:
        # One upload per job chain: a retry resumes its session, a new upload starts afresh.
        return {"upload": ctx.extra_parameter("chain_root", ctx.job.get("id"))}

    def run(ctx: RunContext, progress: Progress) -> dict[str, Any]:
        return run_upload(settings, ctx, progress)

    return Stage("youtube_upload", 1.0, run, (), inputs)
