"""`audit verify`: walk the audit chain and name the first row that breaks it, and why.

Each row is checked, in sequence order, for: its sequence number (no gap: a gap is a deleted
row), its previous hash (the hash of the row before it: a mismatch is a removed, inserted or
reordered row, or one rewritten together with its hash) and its own hash recomputed from its
fields (a mismatch is an edited row, or two rows whose contents were swapped, as the sequence
number is hashed too). The chain head must then name the last row, so deleting the newest
rows shows too. Rows are read in pages inside one snapshot, so concurrent appends cannot look
like damage and memory stays flat however long the log is.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import GENESIS, HEAD_ID, AuditHeadRow, AuditRow, row_hash
from services.common.db import Database

BATCH = 1000


@dataclass(frozen=True)
class AuditProblem:
    """The first row that breaks the chain: its sequence number and what is wrong."""

    seq: int
    why: str


@dataclass(frozen=True)
class AuditReport:
    """What `audit verify` found."""

    rows: int
    head_seq: int
    head_hash: str
    problem: AuditProblem | None = None

    @property
    def clean(self) -> bool:
        """Tell whether the chain is intact."""
        return self.problem is None


def check_row(row: AuditRow, expected_seq: int, prev_hash: str) -> AuditProblem | None:
    """Return what is wrong with one row given the row before it, or None."""
    if row.id != expected_seq:
        return AuditProblem(
            expected_seq, f"sequence {expected_seq} is missing (next row is {row.id}): row deleted"
        )
    recomputed = row_hash(
        seq=row.id,
        created_at=row.created_at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        details=row.details,
        request_id=row.request_id,
        prev_hash=row.prev_hash,
    )
    if recomputed != row.hash:
        return AuditProblem(row.id, "its fields do not match its hash: row changed or reordered")
    if row.prev_hash != prev_hash:
        return AuditProblem(
            row.id,
            f"its previous hash does not match row {row.id - 1}'s hash: "
            "a row before it was changed, removed or reordered",
        )
    return None


async def _snapshot(database: Database, db: AsyncSession) -> None:
    if database.dialect_name == "postgresql":
        await db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:  # the SQLite driver opens no transaction for reads on its own
        await (await db.connection()).exec_driver_sql("BEGIN")


async def verify(database: Database) -> AuditReport:
    """Recompute the whole chain in one snapshot; report the first broken row."""
    expected, prev, rows = 1, GENESIS, 0
    async with database.session() as db, db.begin():
        await _snapshot(database, db)
        head = await db.get(AuditHeadRow, HEAD_ID)
        head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
        after = 0
        while True:
            batch = list(
                await db.scalars(
                    select(AuditRow).where(AuditRow.id > after).order_by(AuditRow.id).limit(BATCH)
                )
            )
            for row in batch:
                if problem := check_row(row, expected, prev):
                    return AuditReport(rows, head_seq, head_hash, problem)
                rows, expected, prev = rows + 1, expected + 1, row.hash
            if len(batch) < BATCH:
                break
            after = batch[-1].id
    last = expected - 1
    if head_seq > last:
        why = f"the chain head says {head_seq} rows: rows after {last} were deleted"
        return AuditReport(rows, head_seq, head_hash, AuditProblem(last + 1, why))
    if head_seq < last or head_hash != prev:
        why = f"the chain head (sequence {head_seq}) does not match the last row's hash"
        return AuditReport(rows, head_seq, head_hash, AuditProblem(last, why))
    return AuditReport(rows, head_seq, head_hash)
