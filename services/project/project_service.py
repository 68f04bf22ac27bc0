"""ProjectService: film projects with ownership, pagination, soft delete and a status machine.

The records it hands out live in `records.py`, the ownership check in `access.py`, creation in
`creation.py`, updates and (un)deletion in `editing.py` and listings in `listing.py`; this class
is the one entry point for all of them, and applies the status machine of `rules.py` itself.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.caller import Caller
from services.common.db import Database, utcnow
from services.common.pagination import PageTokens
from services.project import creation, editing, listing, rules
from services.project.access import owned
from services.project.models import ProjectRow, ProjectStatusChangeRow
from services.project.records import (
    UNDELETE_WINDOW,
    Project,
    ProjectPage,
    StatusChange,
    etag_of,
    to_change,
    to_project,
)

# The records stay importable from here, where callers have always found them.
__all__ = [
    "UNDELETE_WINDOW",
    "Caller",
    "Project",
    "ProjectPage",
    "ProjectService",
    "StatusChange",
    "etag_of",
    "to_project",
]

log = logging.getLogger(__name__)


class ProjectService:
    """Use cases of film projects; the only layer that opens transactions for them."""

    def __init__(self, db: Database, page_secret: bytes | str = b"filmstudio-projects") -> None:
        self.db = db
        self.page_tokens = PageTokens(page_secret)

    # --- Creation, reads and listings (see creation.py and listing.py) --------------------------

    async def create_project(
        self,
        user_id: int,
        title: str,
        script: str = "",
        style: str = "",
        target_duration: int = 0,
        aspect_ratio: str = "",
        resolution: str = "",
        voice: str = "",
        request_id: str = "",
    ) -> Project:
        """Create a DRAFT project; a repeated request_id returns the first project."""
        given = {
            "style": style,
            "target_duration_seconds": target_duration,
            "aspect_ratio": aspect_ratio,
            "resolution": resolution,
            "voice": voice,
        }
        return await creation.create(self, user_id, title, script, given, request_id)

    async def get_project(self, project_id: int, caller: Caller) -> Project:
        """Return a project the caller owns (or any, for an admin)."""
        async with self.db.reader() as db:
            return to_project(await owned(db, project_id, caller))

    async def get_user_projects(
        self,
        user_id: int,
        status: str = "",
        limit: int = 0,
        page_token: str = "",
        show_deleted: bool = False,
    ) -> ProjectPage:
        """List a user's projects newest first, a page at a time (keyset on id)."""
        return await listing.page(self, user_id, status, limit, page_token, show_deleted)

    # --- Updates and (un)deletion (see editing.py) ----------------------------------------------

    async def update_project(
        self, project_id: int, caller: Caller, changes: dict[str, Any], etag: str = ""
    ) -> Project:
        """Change the given fields; a stale etag is ABORTED."""
        return await editing.update(self, project_id, caller, changes, etag)

    async def delete_project(self, project_id: int, caller: Caller, etag: str = "") -> Project:
        """Soft-delete a project; it can be undeleted for 30 days."""
        return await editing.delete(self, project_id, caller, etag)

    async def undelete_project(self, project_id: int, caller: Caller) -> Project:
        """Restore a soft-deleted project within 30 days of its deletion."""
        return await editing.undelete(self, project_id, caller)

    # --- The status machine (its rules are in rules.py) -----------------------------------------

    async def update_project_status(
        self,
        project_id: int,
        status: str,
        caller: Caller,
        reason: str = "",
        job_id: int | None = None,
    ) -> tuple[Project, StatusChange]:
        """Move a project through the status machine and record the change."""
        async with self.db.session() as db, db.begin():
            row = await owned(db, project_id, caller, lock=True)
            change = await self.transition(db, row, status, caller.name, reason, job_id)
            return to_project(row), change

    async def load(self, db: AsyncSession, project_id: int, caller: Caller) -> ProjectRow:
        """Lock and return a live project the caller may use, inside the caller's transaction."""
        row = await owned(db, project_id, caller, lock=True)
        if row.deleted_at is not None:
            raise errors.NotFound(f"projects/{project_id} not found")
        return row

    async def transition(
        self,
        db: AsyncSession,
        row: ProjectRow,
        status: str,
        actor: str,
        reason: str = "",
        job_id: int | None = None,
    ) -> StatusChange:
        """Apply one status transition inside the caller's transaction (the job service's)."""
        if row.deleted_at is not None:
            raise errors.FailedPrecondition("the project is deleted", reason="PROJECT_DELETED")
        rules.check_transition(row.status, status)
        change = ProjectStatusChangeRow(
            project_id=row.id,
            from_status=row.status,
            to_status=status,
            reason=reason[:500],
            actor=actor[:100],
            job_id=job_id,
            changed_at=utcnow(),
        )
        db.add(change)
        row.status, row.updated_at = status, change.changed_at
        if job_id is not None:
            row.latest_job_id = job_id
        row.version += 1
        return to_change(change)

    async def status_history(self, project_id: int, caller: Caller) -> list[StatusChange]:
        """Return a project's transitions, oldest first."""
        async with self.db.reader() as db:
            await owned(db, project_id, caller)
            rows = await db.scalars(
                select(ProjectStatusChangeRow)
                .where(ProjectStatusChangeRow.project_id == project_id)
                .order_by(ProjectStatusChangeRow.id)
            )
            return [to_change(r) for r in rows]

    # --- Job outputs and purging ----------------------------------------------------------------

    async def record_outputs(
        self, project_id: int, job_id: int, artifacts: list[dict[str, Any]]
    ) -> Project:
        """Store the outputs of a project's latest successful job."""
        async with self.db.session() as db, db.begin():
            row = await owned(db, project_id, Caller(None, is_admin=True), lock=True)
            row.latest_job_id, row.artifacts = job_id, list(artifacts)
            row.version += 1
            row.updated_at = utcnow()
            return to_project(row)

    async def purge_deleted(self, now: datetime | None = None) -> list[Project]:
        """Delete for good the projects deleted more than 30 days ago; return them.

        The caller removes their artifacts from storage (see `purge.py`).
        """
        cutoff = (now or utcnow()) - UNDELETE_WINDOW
        async with self.db.session() as db, db.begin():
            rows = list(
                (
                    await db.scalars(
                        select(ProjectRow).where(ProjectRow.deleted_at <= cutoff).with_for_update()
                    )
                ).all()
            )
            purged = [to_project(r) for r in rows]
            if rows:
                await db.execute(delete(ProjectRow).where(ProjectRow.id.in_([r.id for r in rows])))
        if purged:
            log.info("projects purged", extra={"count": len(purged)})
        return purged
