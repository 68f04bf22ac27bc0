"""The gRPC transport of YouTubeService: proto in, domain call, proto out."""

from __future__ import annotations

from datetime import UTC

import grpc
from filmstudio.v1 import youtube_pb2, youtube_pb2_grpc

from services.common import errors
from services.common.caller import caller_of
from services.common.context import require_principal
from services.common.convert import resource_id, timestamp
from services.youtube.convert import (
    channel_message,
    playlist_message,
    privacy,
    upload_id,
    upload_message,
)
from services.youtube.youtube_service import YouTubeService

Context = grpc.aio.ServicerContext
pb = youtube_pb2


def _user_id() -> int:
    caller = caller_of(require_principal())
    if caller.user_id is None:
        raise errors.PermissionDenied("a user's channel: call as the user")
    return caller.user_id


class YouTubeServicer(youtube_pb2_grpc.YouTubeServiceServicer):
    """YouTubeService over gRPC."""

    def __init__(self, service: YouTubeService) -> None:
        self.service = service

    async def ConnectYouTubeAccount(
        self,
        request: pb.ConnectYouTubeAccountRequest,
        context: Context[pb.ConnectYouTubeAccountRequest, pb.ConnectYouTubeAccountResponse],
    ) -> pb.ConnectYouTubeAccountResponse:
        start = await self.service.connect_youtube_account(_user_id(), request.manage_playlists)
        return pb.ConnectYouTubeAccountResponse(
            authorization_url=start.authorization_url, state=start.state
        )

    async def CompleteYouTubeConnection(
        self,
        request: pb.CompleteYouTubeConnectionRequest,
        context: Context[pb.CompleteYouTubeConnectionRequest, pb.CompleteYouTubeConnectionResponse],
    ) -> pb.CompleteYouTubeConnectionResponse:
        channel = await self.service.complete_youtube_connection(
            _user_id(), request.code, request.state
        )
        return pb.CompleteYouTubeConnectionResponse(channel=channel_message(channel))

    async def UploadVideo(
        self,
        request: pb.UploadVideoRequest,
        context: Context[pb.UploadVideoRequest, pb.UploadVideoResponse],
    ) -> pb.UploadVideoResponse:
        upload = await self.service.upload_video(
            _user_id(),
            resource_id(request.project, "projects", "project"),
            request.title,
            request.description,
            list(request.tags),
            privacy_status=privacy(request.privacy_status),
            publish_at=request.publish_time.ToDatetime(tzinfo=UTC)
            if request.HasField("publish_time")
            else None,
            category_id=request.category_id,
            made_for_kids=request.made_for_kids,
            language=request.language,
            playlist_id=request.playlist_id,
            request_id=request.request_id,
        )
        return pb.UploadVideoResponse(upload=upload_message(upload))

    async def CreatePlaylist(
        self,
        request: pb.CreatePlaylistRequest,
        context: Context[pb.CreatePlaylistRequest, pb.CreatePlaylistResponse],
    ) -> pb.CreatePlaylistResponse:
        playlist = request.playlist
        made = await self.service.create_playlist(
            _user_id(), playlist.title, playlist.description, privacy(playlist.privacy_status)
        )
        return pb.CreatePlaylistResponse(playlist=playlist_message(made))

    async def GetUploadStatus(
        self,
        request: pb.GetUploadStatusRequest,
        context: Context[pb.GetUploadStatusRequest, pb.GetUploadStatusResponse],
    ) -> pb.GetUploadStatusResponse:
        upload = await self.service.get_upload_status(
            upload_id(request.name), caller_of(require_principal())
        )
        return pb.GetUploadStatusResponse(upload=upload_message(upload))

    async def DisconnectYouTubeAccount(
        self,
        request: pb.DisconnectYouTubeAccountRequest,
        context: Context[pb.DisconnectYouTubeAccountRequest, pb.DisconnectYouTubeAccountResponse],
    ) -> pb.DisconnectYouTubeAccountResponse:
        await self.service.disconnect_youtube_account(_user_id())
        return pb.DisconnectYouTubeAccountResponse()

    async def IssueUploadToken(
        self,
        request: pb.IssueUploadTokenRequest,
        context: Context[pb.IssueUploadTokenRequest, pb.IssueUploadTokenResponse],
    ) -> pb.IssueUploadTokenResponse:
        token = await self.service.issue_upload_token(
            resource_id(request.job, "jobs", "job"), request.refresh
        )
        return pb.IssueUploadTokenResponse(
            access_token=token.token,
            expire_time=timestamp(token.expires_at),
            upload=f"youtube/uploads/{token.upload_id}",
        )

    async def RecordUploadedVideo(
        self,
        request: pb.RecordUploadedVideoRequest,
        context: Context[pb.RecordUploadedVideoRequest, pb.RecordUploadedVideoResponse],
    ) -> pb.RecordUploadedVideoResponse:
        upload = await self.service.record_uploaded_video(
            resource_id(request.job, "jobs", "job"), request.video_id
        )
        return pb.RecordUploadedVideoResponse(upload=upload_message(upload))
