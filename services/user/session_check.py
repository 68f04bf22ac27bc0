"""The auth interceptor's check that a token's session and account are still alive."""

from __future__ import annotations

import time

from sqlalchemy import select

from services.common.context import Principal, PrincipalKind
from services.common.db import Database, utcnow
from services.user.models import SessionRow, UserRow


class DatabaseSessionCheck:
    """The auth interceptor's revocation check: one primary-key lookup, cached briefly.

    Positive answers are cached for `ttl` seconds; revocations made in this process evict at
    once, so Logout and RevokeSession take effect immediately here and within `ttl` elsewhere.
    """

    def __init__(self, database: Database, ttl: float = 2.0, max_entries: int = 100_000) -> None:
        self.database = database
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, Principal]] = {}

    def forget(self, *session_ids: str) -> None:
        """Drop cached answers for sessions that were just revoked."""
        for session_id in session_ids:
            self._cache.pop(session_id, None)

    def forget_all(self) -> None:
        """Drop every cached answer (a user was suspended or changed role)."""
        self._cache.clear()

    async def current(self, principal: Principal) -> Principal | None:
        """Return the caller with its current role, or None if the session or user is dead."""
        session_id = principal.session_id
        if not session_id or not principal.subject.isdigit():
            return None
        cached = self._cache.get(session_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1] if cached[1].subject == principal.subject else None
        async with self.database.reader() as db:
            row = (
                await db.execute(
                    select(
                        SessionRow.revoked_at, SessionRow.expires_at, UserRow.state, UserRow.role
                    )
                    .join(UserRow, UserRow.id == SessionRow.user_id)
                    .where(
                        SessionRow.id == session_id, SessionRow.user_id == int(principal.subject)
                    )
                )
            ).one_or_none()
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            return None
        if row.state != "active":
            return None
        fresh = Principal(
            PrincipalKind.USER,
            principal.subject,
            role=row.role,
            session_id=session_id,
            token_id=principal.token_id,
        )
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[session_id] = (time.monotonic() + self.ttl, fresh)
        return fresh
