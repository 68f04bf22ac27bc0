"""Undoing the hold of a job whose creation failed, also when the failure was an outage.

A creation that fails after its hold was placed returns the hold. Two things make that harder
than one call: the failure may be the database going down (so the release fails too, and the
hold would wait out its TTL, hours, keeping the user's credits), and a store that failed with a
lost connection may have committed all the same (so the job exists and its hold is its).
So the undo first reads whether the job was stored, releases only if it was not, and when
either step cannot be done now it keeps trying in the background until it can.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine

from services.ai_job.credits_client import CreditsClient
from services.ai_job.models import JobRow
from services.common import errors
from services.common.db import Database, database_unavailable

log = logging.getLogger(__name__)

RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # then every 5 s


def _transient(error: Exception) -> bool:
    """Tell whether an undo step failed for an outage (worth retrying), not a refusal."""
    return isinstance(error, errors.Unavailable) or database_unavailable(error)


class HoldUndo:
    """Return the holds of jobs that were not created, now or once the outage ends."""

    def __init__(self, database: Database, credits: CreditsClient, ttl_seconds: float) -> None:
        self.database = database
        self.credits = credits
        # After its TTL the credits service expires the hold itself: no need to keep trying.
        self.ttl_seconds = ttl_seconds
        self._pending: set[asyncio.Task[None]] = set()

    async def undo(self, job_id: int, reservation: str, reason: str) -> None:
        """Release a job's hold unless the job was stored after all; never raises."""
        try:
            await self._undo_once(job_id, reservation, reason)
        except Exception as error:
            if not _transient(error):
                log.exception("could not release a hold", extra={"reservation": reservation})
                return
            log.warning(
                "could not release a hold now; retrying in the background: %s",
                error,
                extra={"reservation": reservation, "job_id": job_id},
            )
            self._spawn(self._keep_trying(job_id, reservation, reason))

    def undo_soon(self, job_id: int, reservation: str, reason: str) -> None:
        """Start `undo` on its own task (for a caller being cancelled, which cannot await it)."""
        self._spawn(self.undo(job_id, reservation, reason))

    def _spawn(self, work: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._pending.discard)

    @property
    def pending(self) -> int:
        """Return how many undos wait for an outage to end."""
        return len(self._pending)

    async def _undo_once(self, job_id: int, reservation: str, reason: str) -> None:
        async with self.database.reader() as db:
            stored = await db.get(JobRow, job_id) is not None
        if stored:
            # The store committed though its caller saw an error: the job runs on this hold.
            log.warning(
                "a job stored despite an error keeps its hold",
                extra={"reservation": reservation, "job_id": job_id},
            )
            return
        await self.credits.release(reservation, reason)

    async def _keep_trying(self, job_id: int, reservation: str, reason: str) -> None:
        give_up_at = time.monotonic() + self.ttl_seconds
        failures = 0
        while time.monotonic() < give_up_at:
            await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
            failures += 1
            try:
                await self._undo_once(job_id, reservation, reason)
            except Exception as error:
                if _transient(error):
                    continue
                log.exception("could not release a hold", extra={"reservation": reservation})
                return
            log.info(
                "hold released after an outage",
                extra={"reservation": reservation, "attempts": failures + 1},
            )
            return
        log.warning("a hold is left to expire", extra={"reservation": reservation})
