"""Tables of the YouTube domain: connection attempts, connected channels, uploads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import Base


class YouTubeStateRow(Base):
    """A connection attempt: its one-time state (hashed), PKCE verifier and scopes."""

    __tablename__ = "youtube_oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_verifier: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class YouTubeConnectionRow(Base):
    """A user's connected channel and its tokens, encrypted (see token_cipher.py)."""

    __tablename__ = "youtube_connections"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[str] = mapped_column(String(64))
    channel_title: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(String(500))
    refresh_token: Mapped[str] = mapped_column(Text)
    access_token: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    # "connected", or "broken" once Google refused the grant (revoked, expired): reconnect.
    status: Mapped[str] = mapped_column(String(16))
    connected_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class YouTubeUploadRow(Base):
    """An upload: its id is its job chain's first job; YouTube's view of the video is cached."""

    __tablename__ = "youtube_uploads"
    __table_args__ = (Index("ix_youtube_uploads_owner_id_created_at", "owner_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The chain's newest job: a retry's worker moves it here when it asks for a token.
    job_id: Mapped[int] = mapped_column(BigInteger)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    video_id: Mapped[str] = mapped_column(String(32), default="")
    upload_status: Mapped[str] = mapped_column(String(32), default="")
    processing_status: Mapped[str] = mapped_column(String(32), default="")
    failure_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
