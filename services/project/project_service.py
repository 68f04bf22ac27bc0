"""ProjectService: film projects with ownership, pagination, soft delete and a status machine.

This class is the one entry point of the domain; it holds the database and the page-token key
and hands each use case only what it uses: creation in `creation.py`, reads and listings in
`listing.py`, updates and (un)deletion in `editing.py`, the status machine in `transitions.py`, job
outputs in `outputs.py` and purging in `purge.py`. The records it hands out are in `records.py`.

The job service changes projects inside its own transactions (a job and its project move
together): `load`, `transition`, `restore_status` and `record_outputs(..., session=db)` take
that open session and never commit it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.caller import Caller
from services.common.db import Database
from services.common.pagination import PageTokens
from services.project import access, creation, editing, listing, outputs, purge, transitions
from services.project.models import ProjectRow
from services.project.records import Project, ProjectPage, StatusChange

# The records stay importable from here, where callers have always found them.
__all__ = ["Project", "ProjectPage", "ProjectService", "StatusChange"]


class ProjectService:
    """Use cases of film projects; the only layer that opens transactions for them."""

    def __init__(self, db: Database, page_secret: bytes | str = b"filmstudio-projects") -> None:
        self.db = db
        self.page_tokens = PageTokens(page_secret)

    # --- Creation, reads and listings -----------------------------------------------------------

    async def create_project(
        self,
        user_id: int | None,
        title: str,
        script: str = "",
        style: str = "",
        target_duration: int = 0,
        aspect_ratio: str = "",
        resolution: str = "",
        voice: str = "",
        request_id: str = "",
    ) -> Project:
        """Create a DRAFT project; a repeated request_id returns the first project.

        Options left empty take their defaults; a caller with no user (None) is refused.
        """
        given = {
            "style": style,
            "target_duration_seconds": target_duration,
            "aspect_ratio": aspect_ratio,
            "resolution": resolution,
            "voice": voice,
        }
        return await creation.create(self.db, user_id, title, script, given, request_id)

    async def get_project(self, project_id: int, caller: Caller) -> Project:
        """Return a project the caller owns (or any, for an admin)."""
        return await listing.one(self.db, project_id, caller)

    async def get_user_projects(
        self,
        user_id: int,
        status: str = "",
        limit: int = 0,
        page_token: str = "",
        show_deleted: bool = False,
    ) -> ProjectPage:
        """List a user's projects newest first, a page at a time (keyset on id)."""
        return await listing.page(
            self.db, self.page_tokens, user_id, status, limit, page_token, show_deleted
        )

    # --- Updates and (un)deletion ---------------------------------------------------------------

    async def update_project(
        self, project_id: int, caller: Caller, changes: dict[str, Any], etag: str = ""
    ) -> Project:
        """Change the given fields; a stale etag is ABORTED."""
        return await editing.update(self.db, project_id, caller, changes, etag)

    async def delete_project(self, project_id: int, caller: Caller, etag: str = "") -> Project:
        """Soft-delete a project; it can be undeleted for 30 days."""
        return await editing.delete(self.db, project_id, caller, etag)

    async def undelete_project(self, project_id: int, caller: Caller) -> Project:
        """Restore a soft-deleted project within 30 days of its deletion."""
        return await editing.undelete(self.db, project_id, caller)

    # --- The status machine ---------------------------------------------------------------------

    async def update_project_status(
        self,
        project_id: int,
        status: str,
        caller: Caller,
        reason: str = "",
        job_id: int | None = None,
    ) -> tuple[Project, StatusChange]:
        """Move a project through the status machine and record the change."""
        return await transitions.change(self.db, project_id, status, caller, reason, job_id)

    async def status_history(self, project_id: int, caller: Caller) -> list[StatusChange]:
        """Return a project's transitions, oldest first."""
        return await transitions.history(self.db, project_id, caller)

    # --- Inside the job service's transaction ---------------------------------------------------

    async def load(self, db: AsyncSession, project_id: int, caller: Caller) -> ProjectRow:
        """Lock and return a live project the caller may use, inside the caller's transaction."""
        return await access.live(db, project_id, caller)

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
        return await transitions.transition(db, row, status, actor, reason, job_id)

    async def restore_status(self, db: AsyncSession, project_id: int, status: str) -> None:
        """Put a project back in the status it had before a job that never got queued."""
        await transitions.restore(db, project_id, status)

    async def record_outputs(
        self,
        project_id: int,
        job_id: int,
        artifacts: list[dict[str, Any]],
        *,
        session: AsyncSession | None = None,
    ) -> Project:
        """Store the outputs of a project's latest successful job, as a new version.

        The project's etag and update time move, so an edit made against the version read
        before the outputs arrived is ABORTED. With `session`, the change joins that open
        transaction (the job service completes a job and records its outputs at once) and
        is committed with it; without, it commits in a transaction of its own. A deleted or
        missing project is NOT_FOUND.
        """
        if session is not None:
            return await outputs.record(session, project_id, job_id, artifacts)
        async with self.db.session() as db, db.begin():
            return await outputs.record(db, project_id, job_id, artifacts)

    # --- Purging --------------------------------------------------------------------------------

    async def purge_deleted(self, now: datetime | None = None) -> list[Project]:
        """Delete for good the projects deleted more than 30 days ago; return them.

        The caller removes their artifacts from storage (see `purge.purge_projects`).
        """
        return await purge.delete_expired(self.db, now)
