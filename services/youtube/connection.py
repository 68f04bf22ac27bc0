"""Connecting a channel: one-time state with PKCE, encrypted tokens, refresh, and disconnect.

The state is stored hashed and bound to the user who started the attempt; it is spent before
the code is exchanged, so it works once even when the exchange fails. A grant Google refuses
marks the connection broken: every later use says to reconnect, until the user does.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.db import Database, utcnow
from services.user.oauth_base import new_pkce_pair
from services.youtube.google_api import (
    SCOPE_MANAGE,
    SCOPE_UPLOAD,
    GoogleApi,
    GrantRefused,
    Tokens,
    reconnect_error,
)
from services.youtube.models import YouTubeConnectionRow, YouTubeStateRow
from services.youtube.records import Channel, ConnectStart
from services.youtube.token_cipher import TokenCipher, TokenUnreadable

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
# An access token this close to expiry is refreshed before it is handed out.
EXPIRY_MARGIN = timedelta(minutes=5)


def state_hash(state: str) -> str:
    """Return the stored form of a connection state."""
    return hashlib.sha256(state.encode()).hexdigest()


def owner_of(user_id: int) -> str:
    """Return the associated data that binds a user's ciphertexts to their row."""
    return f"youtube-connection:users/{user_id}"


def to_channel(row: YouTubeConnectionRow) -> Channel:
    """Describe a connection."""
    return Channel(row.channel_id, row.channel_title, row.scopes.split(), row.connected_at)


class Connections:
    """Connect, use and disconnect users' YouTube channels."""

    def __init__(self, database: Database, google: GoogleApi, cipher: TokenCipher) -> None:
        self.database = database
        self.google = google
        self.cipher = cipher

    async def start(self, user_id: int, manage_playlists: bool) -> ConnectStart:
        """Store a one-time state and PKCE verifier; return Google's consent URL."""
        self.google.require_configured()
        scopes = [SCOPE_UPLOAD, SCOPE_MANAGE] if manage_playlists else [SCOPE_UPLOAD]
        state = secrets.token_urlsafe(32)
        verifier, challenge = new_pkce_pair()
        now = utcnow()
        async with self.database.session() as db, db.begin():
            db.add(
                YouTubeStateRow(
                    state_hash=state_hash(state),
                    user_id=user_id,
                    code_verifier=verifier,
                    scopes=" ".join(scopes),
                    created_at=now,
                    expires_at=now + STATE_TTL,
                )
            )
        url = self.google.authorization_url(state=state, code_challenge=challenge, scopes=scopes)
        return ConnectStart(url, state)

    async def complete(self, user_id: int, code: str, state: str) -> Channel:
        """Spend the state, exchange the code, read the channel, and store the tokens."""
        self.google.require_configured()
        errors.InvalidArgument.require(code=code, state=state)
        invalid = errors.InvalidArgument(
            [errors.FieldViolation("state", "is unknown, used or expired", "STATE_INVALID")]
        )
        async with self.database.session() as db, db.begin():
            row = await db.get(YouTubeStateRow, state_hash(state[:200]), with_for_update=True)
            # Another user's state is as unknown as a made-up one: states are browser-bound.
            if row is None or row.used_at is not None or row.expires_at <= utcnow():
                raise invalid
            if row.user_id != user_id:
                raise invalid
            row.used_at = utcnow()
            verifier, requested = row.code_verifier, row.scopes
        tokens = await self.google.exchange(code[:2048], verifier)
        try:
            channel_id, title = await self._channel(tokens.access_token)
        except errors.DomainError:
            # No connection is stored, so the grant Google just made would be left behind.
            await self._revoke_quietly(tokens.refresh_token, user_id)
            raise
        now = utcnow()
        async with self.database.session() as db, db.begin():
            connection = await db.get(YouTubeConnectionRow, user_id, with_for_update=True)
            if connection is None:
                connection = YouTubeConnectionRow(user_id=user_id, connected_at=now)
                db.add(connection)
            connection.channel_id, connection.channel_title = channel_id, title[:200]
            connection.scopes = " ".join(tokens.scopes) if tokens.scopes else requested
            connection.connected_at, connection.updated_at = now, now
            connection.status = "connected"
            self._store(connection, tokens)
            return to_channel(connection)

    async def _channel(self, access_token: str) -> tuple[str, str]:
        try:
            body = await self.google.get(
                access_token, "channels", {"part": "id,snippet", "mine": "true"}
            )
        except GrantRefused:
            raise reconnect_error() from None
        items = body.get("items") or []
        if not items:
            raise errors.FailedPrecondition(
                "this Google account has no YouTube channel; create one and connect again",
                reason="YOUTUBE_NO_CHANNEL",
            )
        first = items[0]
        return str(first.get("id", "")), str((first.get("snippet") or {}).get("title", ""))

    def _store(self, row: YouTubeConnectionRow, tokens: Tokens) -> None:
        owner = owner_of(row.user_id)
        row.refresh_token = self.cipher.encrypt(tokens.refresh_token, owner)
        row.access_token = self.cipher.encrypt(tokens.access_token, owner)
        row.access_expires_at = tokens.expires_at

    async def channel(self, user_id: int) -> YouTubeConnectionRow:
        """Return a user's working connection, or the error saying to connect or reconnect."""
        async with self.database.session() as db:
            row = await db.get(YouTubeConnectionRow, user_id)
        if row is None:
            raise errors.FailedPrecondition(
                "no YouTube channel is connected; connect one with ConnectYouTubeAccount",
                reason="YOUTUBE_NOT_CONNECTED",
            )
        if row.status != "connected":
            raise reconnect_error()
        return row

    async def access_token(
        self, user_id: int, *, refresh: bool = False
    ) -> tuple[str, YouTubeConnectionRow]:
        """Return a current access token, refreshing it when it is old or was refused."""
        row = await self.channel(user_id)
        owner = owner_of(user_id)
        fresh = (
            row.access_expires_at is not None and row.access_expires_at > utcnow() + EXPIRY_MARGIN
        )
        if fresh and not refresh and row.access_token:
            try:
                return self.cipher.decrypt(row.access_token, owner), row
            except TokenUnreadable:
                pass  # a retired key: refresh below
        try:
            refresh_token = self.cipher.decrypt(row.refresh_token, owner)
        except TokenUnreadable:
            log.error(
                "youtube token unreadable with the configured keys", extra={"user_id": user_id}
            )
            await self._break(user_id)
            raise reconnect_error("the stored token cannot be read") from None
        try:
            tokens = await self.google.refresh(refresh_token)
        except GrantRefused:
            await self._break(user_id)
            raise reconnect_error() from None
        async with self.database.session() as db, db.begin():
            stored = await db.get(YouTubeConnectionRow, user_id, with_for_update=True)
            if stored is None:
                raise reconnect_error()
            # Re-encrypting here also moves the row to the current key (rotation).
            self._store(stored, tokens)
            stored.updated_at = utcnow()
            return tokens.access_token, stored

    async def _break(self, user_id: int) -> None:
        async with self.database.session() as db, db.begin():
            row = await db.get(YouTubeConnectionRow, user_id, with_for_update=True)
            if row is not None:
                row.status, row.access_token, row.updated_at = "broken", None, utcnow()

    async def disconnect(self, user_id: int) -> None:
        """Revoke the grant at Google (best effort) and delete our copy of the tokens."""
        async with self.database.session() as db, db.begin():
            row = await db.get(YouTubeConnectionRow, user_id, with_for_update=True)
            if row is None:
                return
            stored = row.refresh_token
            await db.delete(row)
        try:
            token = self.cipher.decrypt(stored, owner_of(user_id))
        except TokenUnreadable:
            log.warning("youtube token unreadable; not revoked", extra={"user_id": user_id})
            return
        await self._revoke_quietly(token, user_id)

    async def _revoke_quietly(self, token: str, user_id: int) -> None:
        try:
            await self.google.revoke(token)
        except errors.Unavailable:
            # Our copy is gone either way; the user can also remove access in their Google account.
            log.warning("youtube revoke failed", extra={"user_id": user_id})

    async def rotate(self, db: AsyncSession, row: YouTubeConnectionRow) -> bool:
        """Re-encrypt one connection under the current key; return whether it changed."""
        owner = owner_of(row.user_id)
        if self.cipher.is_current(row.refresh_token):
            return False
        row.refresh_token = self.cipher.encrypt(
            self.cipher.decrypt(row.refresh_token, owner), owner
        )
        if row.access_token:
            try:
                row.access_token = self.cipher.encrypt(
                    self.cipher.decrypt(row.access_token, owner), owner
                )
            except TokenUnreadable:
                row.access_token = None
        return True
