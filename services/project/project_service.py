"""ProjectService: film projects with ownership, pagination, soft delete and a status machine."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.db import Database, utcnow
from services.common.idempotency import fingerprint, reused_key
from services.common.pagination import PageTokens, page_size, query_key
from services.common.records import Record
from services.project import rules
from services.project.models import ProjectRow, ProjectStatusChangeRow

log = logging.getLogger(__name__)

UNDELETE_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Caller:
    """Who asks: a user id and whether they may see everyone's projects."""

    user_id: int | None
    is_admin: bool = False
    actor: str = ""

    @property
    def name(self) -> str:
        """Return the actor recorded in histories."""
        return self.actor or (f"users/{self.user_id}" if self.user_id else "system")


@dataclass(frozen=True)
class Project(Record):
    """A film project as callers see it."""

    id: int
    owner_id: int
    title: str
    script: str
    style: str
    target_duration_seconds: int
    aspect_ratio: str
    resolution: str
    voice: str
    status: str
    latest_job_id: int | None
    artifacts: list[dict[str, Any]]
    etag: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @property
    def purge_at(self) -> datetime | None:
        """Return when a soft-deleted project is purged for good."""
        return self.deleted_at + UNDELETE_WINDOW if self.deleted_at else None


@dataclass(frozen=True)
class StatusChange(Record):
    """One recorded transition."""

    from_status: str
    to_status: str
    reason: str
    actor: str
    job_id: int | None
    changed_at: datetime


@dataclass(frozen=True)
class ProjectPage(Record):
    """One page of a listing."""

    projects: list[Project]
    next_page_token: str


def etag_of(row: ProjectRow) -> str:
    """Return the opaque etag of a project's current version."""
    return hashlib.sha256(f"{row.id}:{row.version}".encode()).hexdigest()[:20]


def to_project(row: ProjectRow) -> Project:
    """Copy a row into a record."""
    return Project(
        id=row.id,
        owner_id=row.owner_id,
        title=row.title,
        script=row.script,
        style=row.style,
        target_duration_seconds=row.target_duration_seconds,
        aspect_ratio=row.aspect_ratio,
        resolution=row.resolution,
        voice=row.voice,
        status=row.status,
        latest_job_id=row.latest_job_id,
        artifacts=list(row.artifacts or []),
        etag=etag_of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
    )


class ProjectService:
    """Use cases of film projects; the only layer that opens transactions for them."""

    def __init__(self, db: Database, page_secret: bytes | str = b"filmstudio-projects") -> None:
        self.db = db
        self.page_tokens = PageTokens(page_secret)

    async def _owned(
        self, db: AsyncSession, project_id: int, caller: Caller, *, lock: bool = False
    ) -> ProjectRow:
        """Load a project the caller may see; anyone else's is NOT_FOUND, so nothing leaks."""
        row = await db.get(ProjectRow, project_id, with_for_update=lock)
        if row is None or not (caller.is_admin or row.owner_id == caller.user_id):
            raise errors.NotFound(f"projects/{project_id} not found")
        return row

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
        fields = rules.normalise(
            {"title": title, "script": script}
            | {k: v or rules.DEFAULTS[k] for k, v in given.items()}
        )
        found = rules.violations(fields)
        if len(request_id) > 64:
            found.append(errors.FieldViolation("request_id", "must be at most 64 characters"))
        if found:
            raise errors.InvalidArgument(found)
        digest = fingerprint("create_project", **fields)
        async with self.db.session() as db, db.begin():
            if request_id:
                existing = await db.scalar(
                    select(ProjectRow).where(
                        ProjectRow.owner_id == user_id, ProjectRow.request_id == request_id
                    )
                )
                if existing is not None:
                    if existing.request_fingerprint != digest:
                        raise reused_key(request_id)
                    return to_project(existing)
            now = utcnow()
            row = ProjectRow(
                owner_id=user_id,
                request_id=request_id or None,
                request_fingerprint=digest,
                status="draft",
                artifacts=[],
                created_at=now,
                updated_at=now,
                **fields,
            )
            db.add(row)
            await db.flush()
            log.info("project created", extra={"project_id": row.id})
            return to_project(row)

    async def get_project(self, project_id: int, caller: Caller) -> Project:
        """Return a project the caller owns (or any, for an admin)."""
        async with self.db.reader() as db:
            return to_project(await self._owned(db, project_id, caller))

    async def get_user_projects(
        self,
        user_id: int,
        status: str = "",
        limit: int = 0,
        page_token: str = "",
        show_deleted: bool = False,
    ) -> ProjectPage:
        """List a user's projects newest first, a page at a time (keyset on id)."""
        if status and status not in rules.STATUSES:
            raise errors.InvalidArgument.field("status", "is not a project status")
        size = page_size(limit)
        key = query_key(list="projects", owner=user_id, status=status, deleted=show_deleted)
        position = self.page_tokens.decode(page_token, key)
        query = select(ProjectRow).where(ProjectRow.owner_id == user_id)
        if status:
            query = query.where(ProjectRow.status == status)
        if not show_deleted:
            query = query.where(ProjectRow.deleted_at.is_(None))
        if position is not None:
            query = query.where(ProjectRow.id < int(position["id"]))
        query = query.order_by(ProjectRow.id.desc()).limit(size + 1)
        async with self.db.reader() as db:
            rows = list((await db.scalars(query)).all())
        page = rows[:size]
        token = self.page_tokens.encode({"id": page[-1].id}, key) if len(rows) > size else ""
        return ProjectPage([to_project(r) for r in page], token)

    async def update_project(
        self, project_id: int, caller: Caller, changes: dict[str, Any], etag: str = ""
    ) -> Project:
        """Change the given fields; a stale etag is ABORTED."""
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
        async with self.db.session() as db, db.begin():
            row = await self._owned(db, project_id, caller, lock=True)
            self._check_etag(row, etag)
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

    @staticmethod
    def _check_etag(row: ProjectRow, etag: str) -> None:
        if etag and etag != etag_of(row):
            raise errors.Aborted(
                "the project changed since it was read; read it again", reason="ETAG_MISMATCH"
            )

    async def delete_project(self, project_id: int, caller: Caller, etag: str = "") -> Project:
        """Soft-delete a project; it can be undeleted for 30 days."""
        async with self.db.session() as db, db.begin():
            row = await self._owned(db, project_id, caller, lock=True)
            self._check_etag(row, etag)
            if row.deleted_at is not None:
                raise errors.NotFound(f"projects/{project_id} not found")
            if row.status not in rules.DELETABLE_STATUSES:
                raise errors.FailedPrecondition(
                    "cancel the project's job before deleting it", reason="PROJECT_BUSY"
                )
            row.deleted_at = row.updated_at = utcnow()
            row.version += 1
            return to_project(row)

    async def undelete_project(self, project_id: int, caller: Caller) -> Project:
        """Restore a soft-deleted project within 30 days of its deletion."""
        async with self.db.session() as db, db.begin():
            row = await self._owned(db, project_id, caller, lock=True)
            if row.deleted_at is None:
                raise errors.AlreadyExists(f"projects/{project_id} is not deleted")
            if row.deleted_at + UNDELETE_WINDOW <= utcnow():
                raise errors.NotFound(f"projects/{project_id} not found")
            row.deleted_at = None
            row.updated_at = utcnow()
            row.version += 1
            return to_project(row)

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
            row = await self._owned(db, project_id, caller, lock=True)
            change = await self.transition(db, row, status, caller.name, reason, job_id)
            return to_project(row), change

    async def load(self, db: AsyncSession, project_id: int, caller: Caller) -> ProjectRow:
        """Lock and return a live project the caller may use, inside the caller's transaction."""
        row = await self._owned(db, project_id, caller, lock=True)
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
        return _change(change)

    async def status_history(self, project_id: int, caller: Caller) -> list[StatusChange]:
        """Return a project's transitions, oldest first."""
        async with self.db.reader() as db:
            await self._owned(db, project_id, caller)
            rows = await db.scalars(
                select(ProjectStatusChangeRow)
                .where(ProjectStatusChangeRow.project_id == project_id)
                .order_by(ProjectStatusChangeRow.id)
            )
            return [_change(r) for r in rows]

    async def record_outputs(
        self, project_id: int, job_id: int, artifacts: list[dict[str, Any]]
    ) -> Project:
        """Store the outputs of a project's latest successful job."""
        async with self.db.session() as db, db.begin():
            row = await self._owned(db, project_id, Caller(None, is_admin=True), lock=True)
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


def _change(row: ProjectStatusChangeRow) -> StatusChange:
    return StatusChange(
        from_status=row.from_status,
        to_status=row.to_status,
        reason=row.reason,
        actor=row.actor,
        job_id=row.job_id,
        changed_at=row.changed_at,
    )
