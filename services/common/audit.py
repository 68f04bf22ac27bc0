"""The audit log: an append-only, hash-chained record of operators' actions and security events.

Why here, in the runtime, and not in the admin domain: like the mail outbox, it is a facility
every domain writes to inside its own transaction (a login, a password change, a credit grant,
a moderation decision), and it knows no domain: an actor, an action, a target resource name and
a small JSON object. The user domain must not import the admin domain, and a hook called after
the commit could lose an event that the action's commit kept; appending through the same
session keeps the event and the action together, or neither. The admin domain reads it
(`ListAuditLog`) and checks it (`filmstudio audit verify`, in `audit_verify.py`).

Each row carries a sequence number, the hash of the row before it and its own hash: sha256
over a canonical serialisation of its fields and that previous hash (`row_hash`). Appends are
serialised on a one-row chain head (`audit_chain_head`): the first statement of an append is an
UPDATE of that row, which on PostgreSQL locks it until the transaction ends and on SQLite takes
the database's single write lock, so two transactions can never both extend the same head and
fork the chain. Keep appends the last statement of a transaction: the head stays locked until
the commit.

On PostgreSQL a trigger (migration 0007) refuses UPDATE, DELETE and TRUNCATE on `audit_log`.
The table's owner or a superuser can still disable or drop that trigger, which is why the
chain exists and `audit verify` recomputes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.common.context import current_client, current_principal, current_request_id
from services.common.db import Base, insert_ignore, utcnow

# The previous hash of the first row.
GENESIS = "0" * 64
# Bumped if the serialisation below ever changes; part of every hash.
HASH_VERSION = 1
HEAD_ID = 1
# The actor of an event nobody authenticated for, such as a failed sign-in.
ANONYMOUS = "anonymous"
MAX_DETAILS = 4000


class AuditRow(Base):
    """One audit entry; `id` is its sequence number in the chain (1, 2, 3, ... without gaps)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_actor_id", "actor", "id"),
        Index("ix_audit_log_target_id", "target", "id"),
        Index("ix_audit_log_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    # Canonical JSON text, hashed as stored.
    details: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(String(128))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The chain's head: the last sequence number and hash; its row lock serialises appends."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class AuditEntry:
    """An audit entry as the domains see it."""

    seq: int
    created_at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    request_id: str
    prev_hash: str
    hash: str


def to_entry(row: AuditRow) -> AuditEntry:
    """Copy a row into a record."""
    try:
        details = json.loads(row.details)
    except ValueError:
        details = {}
    return AuditEntry(
        seq=row.id,
        created_at=row.created_at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        details=details if isinstance(details, dict) else {},
        request_id=row.request_id,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """Return the details as canonical JSON: sorted keys, no spaces, UTF-8 kept."""
    text = json.dumps(
        dict(details or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    if len(text) > MAX_DETAILS:
        raise ValueError(f"audit details over {MAX_DETAILS} characters")
    return text


def moment(value: datetime) -> str:
    """Return the canonical text of a timestamp: UTC, microseconds (what both backends keep)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def row_hash(
    *,
    seq: int,
    created_at: datetime,
    actor: str,
    action: str,
    target: str,
    details: str,
    request_id: str,
    prev_hash: str,
) -> str:
    """Return sha256 over the canonical serialisation of a row's fields and the previous hash."""
    fields = [
        HASH_VERSION,
        seq,
        moment(created_at),
        actor,
        action,
        target,
        details,
        request_id,
        prev_hash,
    ]
    payload = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def default_actor() -> str:
    """Return who is calling: the authenticated principal, else "system"."""
    principal = current_principal()
    return principal.resource_name if principal is not None else "system"


def client_details() -> dict[str, str]:
    """Return where the call being served comes from, for security events."""
    client = current_client()
    return {"ip": client.ip_address, "user_agent": client.user_agent[:200]}


async def _advance_head(db: AsyncSession) -> tuple[int, str]:
    """Lock the chain head and take the next sequence number; return it and the previous hash."""
    step = (
        update(AuditHeadRow)
        .where(AuditHeadRow.id == HEAD_ID)
        .values(seq=AuditHeadRow.seq + 1)
        .returning(AuditHeadRow.seq, AuditHeadRow.hash)
        .execution_options(synchronize_session=False)
    )
    head = (await db.execute(step)).one_or_none()
    if head is None:
        # The migration seeds the head; a schema made another way gets it on first use.
        await insert_ignore(db, AuditHeadRow.__table__, {"id": HEAD_ID, "seq": 0, "hash": GENESIS})
        head = (await db.execute(step)).one()
    return int(head[0]), str(head[1])


async def append(
    db: AsyncSession,
    action: str,
    *,
    target: str = "",
    actor: str | None = None,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction (make it the transaction's last statement)."""
    entry = AuditEntry(
        seq=0,
        created_at=(now or utcnow()).astimezone(UTC),
        actor=(actor if actor is not None else default_actor())[:200],
        action=action[:64],
        target=target[:200],
        details=dict(details or {}),
        request_id=(current_request_id() or "")[:128],
        prev_hash="",
        hash="",
    )
    text = canonical_details(entry.details)
    seq, prev = await _advance_head(db)
    digest = row_hash(
        seq=seq,
        created_at=entry.created_at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        details=text,
        request_id=entry.request_id,
        prev_hash=prev,
    )
    await db.execute(
        update(AuditHeadRow)
        .where(AuditHeadRow.id == HEAD_ID)
        .values(hash=digest)
        .execution_options(synchronize_session=False)
    )
    await db.execute(
        insert(AuditRow).values(
            id=seq,
            created_at=entry.created_at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            details=text,
            request_id=entry.request_id,
            prev_hash=prev,
            hash=digest,
        )
    )
    return replace(entry, seq=seq, details=json.loads(text), prev_hash=prev, hash=digest)
