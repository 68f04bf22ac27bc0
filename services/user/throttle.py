"""Failed-attempt throttling with growing lockouts, kept in the database for every process."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.context import current_client
from services.common.db import insert_ignore, utcnow
from services.user.models import ThrottleRow


@dataclass(frozen=True)
class ThrottlePolicy:
    """After `threshold` failures within `window`, lock for base * 2^(excess), up to `max_lock`."""

    threshold: int
    window: timedelta
    base_lock: timedelta
    max_lock: timedelta

    def lock_for(self, failures: int) -> timedelta | None:
        """Return how long to lock after this many failures, or None below the threshold."""
        excess = failures - self.threshold
        if excess < 0:
            return None
        seconds = self.base_lock.total_seconds() * math.pow(2, min(excess, 20))
        return min(timedelta(seconds=seconds), self.max_lock)


ACCOUNT_POLICY = ThrottlePolicy(5, timedelta(hours=1), timedelta(seconds=30), timedelta(hours=1))
ADDRESS_POLICY = ThrottlePolicy(20, timedelta(hours=1), timedelta(seconds=60), timedelta(hours=1))
# Registrations and reset mails per address: generous for a household, hard on a bot.
REGISTER_POLICY = ThrottlePolicy(20, timedelta(hours=1), timedelta(minutes=5), timedelta(hours=6))
RESET_POLICY = ThrottlePolicy(10, timedelta(hours=1), timedelta(minutes=5), timedelta(hours=6))


def address_key(scope: str) -> str | None:
    """Return the key of the calling address for a scope, or None for in-process calls."""
    address = current_client().ip_address
    return f"{scope}-ip:{address}" if address else None


async def check(session: AsyncSession, keys: list[str | None], now: datetime | None = None) -> None:
    """Raise ResourceExhausted if any key is locked now (None keys are skipped)."""
    now = now or utcnow()
    keys = [key for key in keys if key]
    rows = (await session.scalars(select(ThrottleRow).where(ThrottleRow.key.in_(keys)))).all()
    locked = [row.locked_until for row in rows if row.locked_until and row.locked_until > now]
    if locked:
        wait = (max(locked) - now).total_seconds()
        raise errors.ResourceExhausted(
            "too many failed attempts; try again later",
            reason="TOO_MANY_ATTEMPTS",
            retry_after_seconds=math.ceil(wait),
        )


async def record_failure(
    session: AsyncSession, key: str | None, policy: ThrottlePolicy, now: datetime | None = None
) -> datetime | None:
    """Count a failure against a key; return until when it is locked if this failure locked it.

    A locked key is refused by `check` before its failures are counted, so each lock returned
    here starts a new lockout (None for a None key, or when the policy does not lock yet).
    """
    if key is None:
        return None
    now = now or utcnow()
    # Insert-if-absent first, so concurrent failures on a new key all land on one locked row.
    await insert_ignore(session, ThrottleRow, {"key": key, "failures": 0, "window_started_at": now})
    row = await session.get(ThrottleRow, key, with_for_update=True, populate_existing=True)
    assert row is not None
    if now - row.window_started_at > policy.window and not (
        row.locked_until and row.locked_until > now
    ):
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    lock = policy.lock_for(row.failures)
    if lock is None:
        return None
    row.locked_until = now + lock
    return row.locked_until


async def clear(session: AsyncSession, key: str) -> None:
    """Forget the failures of a key (after a success)."""
    await session.execute(delete(ThrottleRow).where(ThrottleRow.key == key))
