"""How the YouTube domain plugs into the studio: its contract, answered UNIMPLEMENTED for now."""

from __future__ import annotations

from filmstudio.v1 import youtube_pb2_grpc

from services.common.registry import Domain, ServiceSpec

DOMAIN = Domain(
    key="youtube",
    services=(
        ServiceSpec(
            "youtube",
            "filmstudio.v1.YouTubeService",
            youtube_pb2_grpc.YouTubeServiceServicer,
            youtube_pb2_grpc.add_YouTubeServiceServicer_to_server,
        ),
    ),
)
