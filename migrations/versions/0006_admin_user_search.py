"""admin user search: pg_trgm GIN indexes on users' email and names (PostgreSQL)

The admin console finds users by any substring of their email or names (ILIKE '%text%').
A B-tree cannot answer that; pg_trgm's GIN operator class can, so the search reads only the
matching rows. The extension ships with PostgreSQL's contrib and is trusted (a database owner
may create it). Where it is not installed on the server, the indexes are skipped with a warning
and the search still works, by scanning. SQLite has no equivalent and scans.
"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("email", "first_name", "last_name")


def _trigrams_available() -> bool:
    bind = op.get_bind()
    return bool(
        bind.scalar(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"))
    )


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    if not _trigrams_available():
        warnings.warn(
            "pg_trgm is not installed on this PostgreSQL server: the admin user search will "
            "scan the users table (install postgresql-contrib and migrate again to index it)",
            stacklevel=1,
        )
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.create_index(
            f"ix_users_{column}_trgm",
            "users",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    """Revert this revision (the extension stays: other schemas may use it)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_users_{column}_trgm")
