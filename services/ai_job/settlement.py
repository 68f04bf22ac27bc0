"""Settlement: capture or release an ended job's credit hold, once.

A terminal transition records whether the hold must be captured or released; `settle` does it
afterwards, outside that transaction. The credits service resolves a hold at most once whatever
arrives, so a settlement retried after a crash is safe.
"""

from __future__ import annotations

import logging

from services.ai_job.credits_client import CreditsClient
from services.ai_job.models import JobRow
from services.common import errors
from services.common.db import Database, utcnow

log = logging.getLogger(__name__)


async def settle(database: Database, credits: CreditsClient, job_id: int) -> bool:
    """Capture or release an ended job's hold; return whether it is settled now."""
    async with database.reader() as db:
        row = await db.get(JobRow, job_id)
    if row is None or row.settled_at is not None or not row.settlement:
        return row is not None and row.settled_at is not None
    try:
        if row.settlement == "capture":
            await credits.capture(row.reservation)
        else:
            await credits.release(row.reservation, f"job {row.status}")
    except errors.DomainError:
        log.warning("settlement failed; will retry", extra={"job_id": job_id}, exc_info=True)
        return False
    async with database.session() as db, db.begin():
        fresh = await db.get(JobRow, job_id, with_for_update=True)
        if fresh is not None and fresh.settled_at is None:
            fresh.settled_at = utcnow()
    return True
