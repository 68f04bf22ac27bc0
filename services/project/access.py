"""Which projects a caller may touch, checked as each use case loads its row."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.caller import Caller
from services.project.models import ProjectRow
from services.project.records import etag_of


class Owned(Protocol):
    """A project as a row of any shape: ORM object or Core row."""

    @property
    def owner_id(self) -> int | None: ...


Found = TypeVar("Found", bound=Owned)


def visible(row: Found | None, project_id: int, caller: Caller) -> Found:
    """Return a loaded project the caller may see; anyone else's is NOT_FOUND, so nothing leaks."""
    if row is None or not caller.may_act_for(row.owner_id):
        raise errors.NotFound(f"projects/{project_id} not found")
    return row


async def owned(
    db: AsyncSession, project_id: int, caller: Caller, *, lock: bool = False
) -> ProjectRow:
    """Load a project the caller may see (see `visible`)."""
    return visible(await db.get(ProjectRow, project_id, with_for_update=lock), project_id, caller)


async def live(db: AsyncSession, project_id: int, caller: Caller) -> ProjectRow:
    """Lock and return a project the caller may use that is not deleted (else NOT_FOUND)."""
    row = await owned(db, project_id, caller, lock=True)
    if row.deleted_at is not None:
        raise errors.NotFound(f"projects/{project_id} not found")
    return row


def check_etag(row: ProjectRow, etag: str) -> None:
    """Refuse a write made against an older version of the project (no etag: any version)."""
    if etag and etag != etag_of(row):
        raise errors.Aborted(
            "the project changed since it was read; read it again", reason="ETAG_MISMATCH"
        )
