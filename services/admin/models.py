"""The admin domain's own schema: the trigram indexes its user search runs on (PostgreSQL only).

The users table belongs to the user domain; these indexes serve only the operators' search
(`search.py`), so they are declared here, beside the one query that needs them. pg_trgm GIN
indexes answer `ILIKE '%text%'` without reading the table; SQLite has no equivalent and scans.
"""

from __future__ import annotations

from sqlalchemy import Index

from services.common.audit import AuditHeadRow, AuditRow
from services.user.models import UserRow

SEARCHED_COLUMNS = ("email", "first_name", "last_name")

TRIGRAM_INDEXES = tuple(
    Index(
        f"ix_users_{column}_trgm",
        getattr(UserRow, column),
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")
    for column in SEARCHED_COLUMNS
)

# The audit log's tables live in the runtime (every domain appends in its own transactions);
# named here so the admin domain's schema, which reads and checks them, says where they are.
__all__ = ["TRIGRAM_INDEXES", "AuditHeadRow", "AuditRow"]
