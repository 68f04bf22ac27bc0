"""Ending a job, once: its status, its hold's fate and its project's status in one transaction.

`finish` runs inside the transaction that checked the job may still end; it records whether
the hold must be captured or released. `announce_end` runs after the commit: it tells watchers
and settles the hold (see `settlement.py`). Claims, cancellation and recovery all end jobs here.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from services.ai_job import settlement
from services.ai_job.announce import announce
from services.ai_job.credits_client import CreditsClient
from services.ai_job.events import EventBus
from services.ai_job.models import JobRow
from services.ai_job.progress_writes import ProgressWrites
from services.ai_job.records import GENERATING_TYPES
from services.common import errors
from services.common.caller import Caller
from services.common.db import Database, utcnow
from services.project.project_service import ProjectService

log = logging.getLogger(__name__)

SYSTEM = Caller(None, is_admin=True, actor="services/jobs")


class Ending:
    """End jobs and move their projects along; tell watchers and settle holds afterwards."""

    def __init__(
        self,
        database: Database,
        projects: ProjectService,
        credits: CreditsClient,
        events: EventBus,
        progress_writes: ProgressWrites,
    ) -> None:
        self.database = database
        self.projects = projects
        self.credits = credits
        self.events = events
        self.progress_writes = progress_writes

    async def move_project(self, db: AsyncSession, row: JobRow, status: str, reason: str) -> None:
        """Move the job's project along, when this job type owns the project's status."""
        if row.job_type not in GENERATING_TYPES:
            return
        project = await self.projects.load(db, row.project_id, SYSTEM)
        try:
            await self.projects.transition(db, project, status, SYSTEM.name, reason, row.id)
        except errors.FailedPrecondition:
            log.warning(
                "project status left as is",
                extra={"project_id": row.project_id, "from": project.status, "to": status},
            )

    async def finish(
        self, db: AsyncSession, row: JobRow, status: str, message: str, reason: str
    ) -> None:
        """End a job inside the caller's transaction: its status, the hold's fate, its project."""
        row.status, row.ended_at, row.message = status, utcnow(), message
        row.settlement = "capture" if status == "succeeded" else "release"
        self.progress_writes.forget(row.id)
        project_status = "completed" if status == "succeeded" else "failed"
        await self.move_project(db, row, project_status, f"job {row.id} {reason}")

    async def announce_end(self, row: JobRow) -> None:
        """After the commit: tell watchers the job ended, and settle its hold."""
        await announce(self.events, row)
        await self.settle(row.id)

    async def settle(self, job_id: int) -> bool:
        """Capture or release an ended job's hold; return whether it is settled now."""
        return await settlement.settle(self.database, self.credits, job_id)
