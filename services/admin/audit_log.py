"""Operators' view of the audit log: filtered keyset pages, newest first (read-only).

The log itself (table, hash chain, appends) is the runtime's, `services/common/audit.py`;
every domain appends to it in its own transactions. Pages run on the sequence number, which
only grows, so a page token stays valid while entries are appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from services.admin.records import AuditPage
from services.common import errors
from services.common.audit import AuditRow, to_entry
from services.common.db import Database
from services.common.pagination import PageTokens, page_size, query_key

DEFAULT_PAGE = 50


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list; empty fields match everything."""

    actor: str = ""
    action: str = ""
    target: str = ""
    start: datetime | None = None
    end: datetime | None = None


async def page(
    database: Database, tokens: PageTokens, filters: AuditFilter, limit: int, page_token: str
) -> AuditPage:
    """Return one page of audit entries, newest first."""
    if filters.start is not None and filters.end is not None and filters.start >= filters.end:
        raise errors.InvalidArgument.field("end_time", "must be later than start_time")
    for field in ("actor", "action", "target"):
        if len(getattr(filters, field)) > 200:
            raise errors.InvalidArgument.field(field, "must be at most 200 characters")
    size = page_size(limit, default=DEFAULT_PAGE)
    key = query_key(
        list="admin-audit",
        actor=filters.actor,
        action=filters.action,
        target=filters.target,
        start=filters.start,
        end=filters.end,
    )
    position = tokens.decode(page_token, key)
    query = select(AuditRow)
    if filters.actor:
        query = query.where(AuditRow.actor == filters.actor)
    if filters.action:
        query = query.where(AuditRow.action == filters.action)
    if filters.target:
        query = query.where(AuditRow.target == filters.target)
    if filters.start is not None:
        query = query.where(AuditRow.created_at >= filters.start)
    if filters.end is not None:
        query = query.where(AuditRow.created_at < filters.end)
    if position is not None:
        query = query.where(AuditRow.id < int(position["seq"]))
    query = query.order_by(AuditRow.id.desc()).limit(size + 1)
    async with database.reader() as db:
        rows = list((await db.scalars(query)).all())
    shown = rows[:size]
    token = tokens.encode({"seq": shown[-1].id}, key) if len(rows) > size else ""
    return AuditPage([to_entry(row) for row in shown], token)
