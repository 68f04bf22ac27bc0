"""The auth interceptor's check that a token's session and account are still alive.

The database is the truth. On PostgreSQL with its change feed live (services/common/row_cache.py)
the session-and-user row is a tagged hot read: kept per process until a write to that session or
user is announced, so a call costs no round trip and a revocation holds on the next call. When
the feed is not live (SQLite, or PostgreSQL while the feed reconnects), answers are cached per
process and validated on every call against a revocation version per user. Every revocation
(Logout, RevokeSession, a refresh token's reuse, a password change or reset, suspension, a role
change, an OAuth takeover defence) calls `revoked(user_id)` after its transaction commits, which
bumps the user's version here and, with Redis configured, in Redis (INCR), where every serving
process reads it (one GET per call) before trusting its cached answer. So a call that arrives
after the revoking RPC returned is checked against the database in whichever process it
reaches, and refused.

The order makes it safe: a check reads the version before the database, so an answer cached
while a revocation was being committed carries the old version and fails the next comparison.
Without Redis (the embedded single-process studio) the in-process version is exact; several
processes without Redis fall back on the short time-to-live.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from services.common.context import Principal, PrincipalKind
from services.common.db import Database, utcnow
from services.common.hot_reads import Found
from services.user.models import SessionRow, UserRow

log = logging.getLogger(__name__)

# Without shared versions a cached answer may hide another process's revocation this long.
LOCAL_TTL_SECONDS = 2.0
# With Redis versions a cached answer is exact; the time-to-live only bounds the damage of a
# version lost in Redis (a restart without persistence between an INCR and the next read).
SHARED_TTL_SECONDS = 30.0
# A version key outlives every answer cached before its last bump, then goes.
VERSION_KEY_TTL_SECONDS = 86_400
# A version read that failed: trust no cached answer, and cache none.
_UNKNOWN: Any = object()


# A miss's lookup, on the hot-read path: the session's end and its user's state and role.
_SESSION_AND_USER = (
    select(SessionRow.revoked_at, SessionRow.expires_at, UserRow.state, UserRow.role)
    .join(UserRow, UserRow.id == SessionRow.user_id)
    .where(SessionRow.id == bindparam("session"), SessionRow.user_id == bindparam("user"))
)


@dataclass(frozen=True, slots=True)
class _Answer:
    version: bytes | int | None
    valid_until: float  # time.monotonic()
    expires_at: datetime  # the session's own end
    principal: Principal


class DatabaseSessionCheck:
    """The auth interceptor's revocation check: a cached answer while the user's version holds.

    A miss or a changed version costs one primary-key join on the database; a hit costs one
    Redis GET when Redis is configured, nothing otherwise.
    """

    def __init__(
        self,
        database: Database,
        ttl: float | None = None,
        max_entries: int = 100_000,
        *,
        redis_url: str | None = None,
        key_prefix: str = "filmstudio",
    ) -> None:
        self.database = database
        self.shared = redis_url is not None
        self.ttl = (
            ttl if ttl is not None else SHARED_TTL_SECONDS if self.shared else LOCAL_TTL_SECONDS
        )
        self.max_entries = max_entries
        self.key_prefix = key_prefix
        self._cache: dict[str, _Answer] = {}
        self._local_versions: dict[str, int] = {}
        self._redis: Any = None
        self._quiet_until = 0.0
        if redis_url is not None:
            import redis.asyncio as redis

            self._redis = redis.Redis.from_url(redis_url, max_connections=256)

    def _key(self, user_id: str) -> str:
        return f"{self.key_prefix}:session-version:{user_id}"

    async def close(self) -> None:
        """Release the Redis connections."""
        if self._redis is not None:
            await self._redis.aclose()

    def forget(self, *session_ids: str) -> None:
        """Drop cached answers for sessions being revoked (this process; see `revoked`)."""
        for session_id in session_ids:
            self._cache.pop(session_id, None)

    def forget_all(self) -> None:
        """Drop every cached answer in this process."""
        self._cache.clear()

    async def revoked(self, user_id: int | str) -> None:
        """Make a committed change to a user's sessions, state or role count on the next call.

        Call after the transaction commits. Raises if Redis cannot record it: the change is in
        the database, but other processes could accept the old answer for up to `ttl`, and the
        caller should not be told it took effect everywhere.
        """
        subject = str(user_id)
        self._local_versions[subject] = self._local_versions.get(subject, 0) + 1
        if self._redis is None:
            return
        key = self._key(subject)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, VERSION_KEY_TTL_SECONDS)
            await pipe.execute()

    async def _version(self, subject: str) -> bytes | int | None:
        """Return the user's revocation version as every process sees it."""
        if self._redis is None:
            return self._local_versions.get(subject, 0)
        try:
            version: bytes | None = await self._redis.get(self._key(subject))
        except Exception:  # Redis down: the database answers, nothing is trusted from cache
            if time.monotonic() >= self._quiet_until:  # once a minute, not once a call
                self._quiet_until = time.monotonic() + 60
                log.warning("session versions unavailable; checking the database", exc_info=True)
            return _UNKNOWN  # type: ignore[no-any-return]
        return version

    async def current(self, principal: Principal) -> Principal | None:
        """Return the caller with its current role, or None if the session or user is dead."""
        session_id = principal.session_id
        subject = principal.subject
        if not session_id or not subject.isdigit():
            return None
        params = {"session": session_id, "user": int(subject)}
        # Every session and user row announces its writes: `user_sessions@<user>`, `users:<id>`.
        tags = (f"user_sessions@{subject}", f"users:{subject}")
        if self.database.read_cache_live:
            # The database's change feed keeps its answer exact: no version read per call.
            row = await self.database.read_row(_SESSION_AND_USER, params, tags)
            return _alive(row, principal)
        version = await self._version(subject)
        cached = self._cache.get(session_id)
        if (
            cached is not None
            and cached.version == version
            and version is not _UNKNOWN
            and cached.valid_until > time.monotonic()
            and cached.principal.subject == subject
            and cached.expires_at > utcnow()
        ):
            return cached.principal
        row = await self.database.read_row(_SESSION_AND_USER, params, tags)
        fresh = _alive(row, principal)
        if fresh is None or row is None:
            self._cache.pop(session_id, None)
            return None
        if version is not _UNKNOWN:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            deadline = time.monotonic() + self.ttl
            self._cache[session_id] = _Answer(version, deadline, row.expires_at, fresh)
        return fresh


def _alive(row: Found | None, principal: Principal) -> Principal | None:
    """Return the caller as the session's row says it is now, or None if it is dead."""
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    if row.state != "active":
        return None
    return Principal(
        PrincipalKind.USER,
        principal.subject,
        role=row.role,
        session_id=principal.session_id,
        token_id=principal.token_id,
    )
