"""Moving projects through the status machine, and the history of their moves.

The machine itself (which moves are allowed) is in `rules.py`. The job service moves a project
inside its own transaction, so that a job and its project never disagree; `transition` and
`restore` take that open session, `change` opens one of its own.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.caller import Caller
from services.common.db import Database, utcnow
from services.project import rules
from services.project.access import live, owned
from services.project.models import ProjectRow, ProjectStatusChangeRow
from services.project.records import Project, StatusChange, to_change, to_project


async def transition(
    db: AsyncSession,
    row: ProjectRow,
    status: str,
    actor: str,
    reason: str = "",
    job_id: int | None = None,
) -> StatusChange:
    """Apply one status transition to a loaded row, recording it, in the open transaction."""
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


async def change(
    database: Database,
    project_id: int,
    status: str,
    caller: Caller,
    reason: str = "",
    job_id: int | None = None,
) -> tuple[Project, StatusChange]:
    """Move a project through the status machine in a transaction of its own."""
    async with database.session() as db, db.begin():
        row = await owned(db, project_id, caller, lock=True)
        recorded = await transition(db, row, status, caller.name, reason, job_id)
        return to_project(row), recorded


async def restore(db: AsyncSession, project_id: int, status: str) -> None:
    """Put a live project back in a status it had, in the open transaction, off the machine.

    Only for undoing a transition whose cause never came to be (a job that could not be
    queued); the history keeps the transition, as it did.
    """
    row = await live(db, project_id, Caller(None, is_admin=True))
    row.status = status
    row.version += 1


async def history(database: Database, project_id: int, caller: Caller) -> list[StatusChange]:
    """Return a project's transitions, oldest first."""
    async with database.reader() as db:
        await owned(db, project_id, caller)
        rows = await db.scalars(
            select(ProjectStatusChangeRow)
            .where(ProjectStatusChangeRow.project_id == project_id)
            .order_by(ProjectStatusChangeRow.id)
        )
        return [to_change(r) for r in rows]
