"""Playlists on the connected channel (the "youtube" scope)."""

from __future__ import annotations

from services.common import errors
from services.common.errors import FieldViolation
from services.youtube.connection import Connections
from services.youtube.google_api import SCOPE_MANAGE, GrantRefused, reconnect_error
from services.youtube.metadata import PRIVACY
from services.youtube.records import Playlist


async def create_playlist(
    connections: Connections, user_id: int, title: str, description: str, privacy_status: str
) -> Playlist:
    """Create a playlist on the user's channel."""
    found: list[FieldViolation] = []
    if not title.strip() or len(title) > 150:
        found.append(FieldViolation("playlist.title", "is required, at most 150 characters"))
    if len(description.encode()) > 5000:
        found.append(FieldViolation("playlist.description", "must be at most 5000 bytes"))
    if privacy_status not in PRIVACY:
        found.append(
            FieldViolation("playlist.privacy_status", "must be PRIVATE, UNLISTED or PUBLIC")
        )
    if found:
        raise errors.InvalidArgument(found)
    token, row = await connections.access_token(user_id)
    if SCOPE_MANAGE not in row.scopes.split():
        raise errors.FailedPrecondition(
            "playlists need playlist access: reconnect with manage_playlists",
            reason="YOUTUBE_SCOPE_MISSING",
        )
    body = {
        "snippet": {"title": title, "description": description},
        "status": {"privacyStatus": privacy_status},
    }
    try:
        made = await connections.google.post(token, "playlists", {"part": "snippet,status"}, body)
    except GrantRefused:
        raise reconnect_error() from None
    snippet = made.get("snippet") or {}
    return Playlist(
        playlist_id=str(made.get("id", "")),
        title=str(snippet.get("title", title)),
        description=str(snippet.get("description", description)),
        privacy_status=str((made.get("status") or {}).get("privacyStatus", privacy_status)),
    )
