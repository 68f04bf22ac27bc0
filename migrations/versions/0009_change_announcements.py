"""change announcements: triggers that NOTIFY the tags of every written row of a cached table

Each serving process LISTENs on `filmstudio_changes` and drops the hot-read answers it keeps for
those tags (services/common/change_feed.py and row_cache.py). A row announces "<table>:<key>",
and "<table>@<owner>" where the table has an owner (for the owner's cached pages); an UPDATE
that moves a row to another owner announces both owners. TRUNCATE announces "*" (drop all).
Triggers fire for every writer, the studio's or an operator's psql, so no write can be missed.
PostgreSQL only: SQLite has no NOTIFY, and there the cache stays off.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (its key column, its owner column or None).
ANNOUNCED = {
    "users": ("id", None),
    "user_sessions": ("id", "user_id"),
    "projects": ("id", "owner_id"),
    "jobs": ("id", "owner_id"),
    "credit_wallets": ("user_id", None),
    "credit_lots": ("id", "user_id"),
    "credit_reservations": ("id", "user_id"),
}


def _row_function(table: str, key: str, owner: str | None) -> str:
    """Return the trigger function announcing one table's written rows."""
    old = f"'{table}:' || OLD.{key}"
    new = f"'{table}:' || NEW.{key}"
    if owner is not None:
        old += f" || ' {table}@' || OLD.{owner}"
        new += f" || ' {table}@' || NEW.{owner}"
    # One notification per row and statement kind; PostgreSQL folds repeats in a transaction.
    return f"""
CREATE OR REPLACE FUNCTION filmstudio_announce_{table}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('filmstudio_changes', {old});
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('filmstudio_changes', {new});
    END IF;
    RETURN NULL;
END
$$
"""


# Checked by every listening process at connect: without it nothing would be announced.
_TRUNCATE_FUNCTION = """
CREATE OR REPLACE FUNCTION filmstudio_announce_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('filmstudio_changes', '*');
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_TRUNCATE_FUNCTION)
    for table, (key, owner) in ANNOUNCED.items():
        op.execute(_row_function(table, key, owner))
        op.execute(
            f"CREATE TRIGGER {table}_announce_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION filmstudio_announce_{table}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_announce_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION filmstudio_announce_change()"
        )


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ANNOUNCED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_announce_change ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_announce_truncate ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS filmstudio_announce_{table}()")
    op.execute("DROP FUNCTION IF EXISTS filmstudio_announce_change()")
