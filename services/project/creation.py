"""Creating a project: validated fields, defaults, and a request id that makes it idempotent."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from services.common import errors
from services.common.db import Database, utcnow
from services.common.idempotency import fingerprint, reused_key
from services.project import rules
from services.project.models import ProjectRow
from services.project.records import Project, to_project

log = logging.getLogger(__name__)


async def create(
    database: Database,
    user_id: int | None,
    title: str,
    script: str,
    given: dict[str, Any],
    request_id: str,
) -> Project:
    """Create a DRAFT project; `given` options left empty take their defaults."""
    # A service acts for no user, and every project has an owner.
    if user_id is None:
        raise errors.InvalidArgument.field("project.owner", "a user must create projects")
    fields = rules.normalise(
        {"title": title, "script": script} | {k: v or rules.DEFAULTS[k] for k, v in given.items()}
    )
    found = rules.violations(fields)
    if len(request_id) > 64:
        found.append(errors.FieldViolation("request_id", "must be at most 64 characters"))
    if found:
        raise errors.InvalidArgument(found)
    digest = fingerprint("create_project", **fields)
    async with database.session() as db, db.begin():
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
