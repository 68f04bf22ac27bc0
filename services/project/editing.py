"""Changing a project: field updates, soft delete and undelete, each against its etag."""

from __future__ import annotations

from typing import Any

from services.common import errors
from services.common.caller import Caller
from services.common.db import Database, utcnow
from services.project import rules
from services.project.access import check_etag, owned
from services.project.records import UNDELETE_WINDOW, Project, to_project


async def update(
    database: Database, project_id: int, caller: Caller, changes: dict[str, Any], etag: str
) -> Project:
    """Change the given fields of a live, editable project; a stale etag is ABORTED."""
    if not changes:
        raise errors.InvalidArgument.field("update_mask", "must name the fields to change")
    unknown = [name for name in changes if name not in rules.EDITABLE]
    if unknown:
        raise errors.InvalidArgument(
            [errors.FieldViolation("update_mask", f"{n} cannot be updated") for n in unknown]
        )
    changes = rules.normalise(changes)
    if found := rules.violations(changes):
        raise errors.InvalidArgument(found)
    async with database.session() as db, db.begin():
        row = await owned(db, project_id, caller, lock=True)
        check_etag(row, etag)
        if row.deleted_at is not None:
            raise errors.FailedPrecondition("the project is deleted", reason="PROJECT_DELETED")
        if row.status not in rules.EDITABLE_STATUSES:
            raise errors.FailedPrecondition(
                f"a {row.status.upper()} project cannot be edited", reason="PROJECT_BUSY"
            )
        for name, value in changes.items():
            setattr(row, name, value)
        row.version += 1
        row.updated_at = utcnow()
        return to_project(row)


async def delete(database: Database, project_id: int, caller: Caller, etag: str) -> Project:
    """Soft-delete a project whose job is not running; it can be undeleted for 30 days."""
    async with database.session() as db, db.begin():
        row = await owned(db, project_id, caller, lock=True)
        check_etag(row, etag)
        if row.deleted_at is not None:
            raise errors.NotFound(f"projects/{project_id} not found")
        if row.status not in rules.DELETABLE_STATUSES:
            raise errors.FailedPrecondition(
                "cancel the project's job before deleting it", reason="PROJECT_BUSY"
            )
        row.deleted_at = row.updated_at = utcnow()
        row.version += 1
        return to_project(row)


async def undelete(database: Database, project_id: int, caller: Caller) -> Project:
    """Restore a soft-deleted project within 30 days of its deletion."""
    async with database.session() as db, db.begin():
        row = await owned(db, project_id, caller, lock=True)
        if row.deleted_at is None:
            raise errors.AlreadyExists(f"projects/{project_id} is not deleted")
        if row.deleted_at + UNDELETE_WINDOW <= utcnow():
            raise errors.NotFound(f"projects/{project_id} not found")
        row.deleted_at = None
        row.updated_at = utcnow()
        row.version += 1
        return to_project(row)
