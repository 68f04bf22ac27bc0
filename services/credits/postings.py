"""Balances, deductions and additions: the use cases that post straight to a user's wallet.

Each locks the wallet (one row), applies what time has done to it, moves credits with
double-entry legs and books them, in one database transaction (the general path). On
PostgreSQL a deduction first tries `fastpath`, the same debit in one statement.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.common import audit, errors, metrics
from services.common.memo import PerRecord
from services.credits import checks, holds
from services.credits.checks import Outcome
from services.credits.fastpath import FastPath
from services.credits.ledger import (
    BONUS,
    CONSUMED,
    ISSUED,
    PURCHASED,
    Meta,
    Wallet,
    book,
    by_key,
    covers,
    lock,
    read,
    save,
)
from services.credits.models import LotRow
from services.credits.records import (
    DEDUCTION,
    GRANT,
    PURCHASE,
    Credits,
    LedgerResult,
    Sufficiency,
    Transaction,
    from_row,
)
from services.credits.uow import UnitOfWork

log = logging.getLogger(__name__)


# A wallet kept with its row (ledger.read) shows the same balances to every call it serves.
_balances_of: PerRecord[Wallet, Credits] = PerRecord(Wallet.credits)


async def balances(uow: UnitOfWork, *, user_id: int) -> Credits:
    """Return a user's balances, with lapsed credits and expired holds already resolved."""
    now = uow.clock()
    wallet = await read(uow.db, user_id)
    stale = holds.needs_settling(wallet, now) or await holds.has_due(uow.db, wallet, now)
    if not stale:
        return _balances_of(wallet)

    async def work(db: AsyncSession, now: datetime) -> Credits:
        wallet = await lock(db, user_id)
        await holds.settle(db, wallet, now)
        await save(db, wallet)
        return wallet.credits()

    return await uow.write(work)


async def sufficiency(uow: UnitOfWork, *, user_id: int, amount: int) -> Sufficiency:
    """Tell whether a user can spend `amount` now."""
    checks.amount(amount)
    available = (await balances(uow, user_id=user_id)).available
    return Sufficiency(covers(available, amount), available, max(0, amount - available))


async def deduct(
    uow: UnitOfWork,
    fast: FastPath | None,
    *,
    user_id: int,
    amount: int,
    reason: str,
    idempotency_key: str,
    job: str,
    actor: str,
) -> LedgerResult:
    """Take credits for usage (monthly first); never overdraws; idempotent per key."""
    checks.amount(amount)
    request_id = checks.key(idempotency_key)
    fingerprint = checks.fingerprint(
        DEDUCTION, user=user_id, amount=amount, reason=checks.reason(reason), job=job
    )
    meta = Meta(
        reason=reason,
        actor=actor,
        request_id=request_id,
        idem_key=f"deduct:{request_id}",
        fingerprint=fingerprint,
        job=checks.job(job),
    )
    if fast is not None:
        taken = await fast.deduct(user_id, amount, uow.clock(), meta)
        if taken is not None:
            transaction, wallet = taken
            metrics.credits_moved({}, {DEDUCTION: amount})  # one autocommitted statement
            return LedgerResult(transaction, wallet.credits(), wallet.available)

    async def work(db: AsyncSession, now: datetime) -> Outcome[LedgerResult]:
        wallet = await lock(db, user_id)
        if (replay := await _replay(db, wallet, meta)) is not None:
            return replay
        await holds.settle(db, wallet, now)
        if not wallet.covers(amount):
            await save(db, wallet)
            return errors.InsufficientCredits(
                user=f"users/{user_id}", required=amount, available=wallet.available
            )
        await holds.spend(db, wallet, amount, CONSUMED, now)
        row = await book(db, wallet, DEDUCTION, now, meta)
        await save(db, wallet)
        return LedgerResult(from_row(Transaction, row), wallet.credits(), wallet.available)

    result = await uow.write(work)
    log.info("credits deducted", extra={"user_id": user_id, "amount": amount})
    return result


async def add(
    uow: UnitOfWork,
    *,
    user_id: int,
    amount: int,
    kind: str,
    reason: str,
    idempotency_key: str,
    expires_at: datetime | None,
    actor: str,
) -> LedgerResult:
    """Give credits (a purchase or a grant; grants may lapse at `expires_at`)."""
    checks.amount(amount)
    request_id = checks.key(idempotency_key)
    if kind not in (PURCHASE, GRANT):
        raise errors.InvalidArgument.field("kind", "must be PURCHASE or GRANT")
    if expires_at is not None and (kind != GRANT or expires_at <= uow.clock()):
        raise errors.InvalidArgument.field(
            "expire_time", "must be in the future, and only grants expire"
        )
    meta = Meta(
        reason=checks.reason(reason),
        actor=actor,
        request_id=request_id,
        idem_key=f"add:{request_id}",
        fingerprint=checks.fingerprint(
            kind, user=user_id, amount=amount, reason=reason, expires_at=expires_at
        ),
    )

    async def work(db: AsyncSession, now: datetime) -> LedgerResult:
        wallet = await lock(db, user_id)
        if (replay := await _replay(db, wallet, meta)) is not None:
            return replay
        await holds.settle(db, wallet, now)
        wallet.move(ISSUED, BONUS if expires_at else PURCHASED, amount)
        row = await book(db, wallet, kind, now, meta)
        if expires_at is not None:
            db.add(
                LotRow(
                    user_id=user_id,
                    transaction_id=row.id,
                    amount=amount,
                    remaining=amount,
                    expires_at=expires_at,
                    created_at=now,
                )
            )
        await save(db, wallet)
        if kind == GRANT:
            await audit.append(
                db,
                "credits.grant",
                target=f"users/{user_id}",
                actor=actor,
                details={
                    "amount": amount,
                    "reason": meta.reason,
                    "transaction": row.id,
                    "request_id": request_id,
                    "expires_at": expires_at.isoformat() if expires_at else None,
                },
            )
        return LedgerResult(from_row(Transaction, row), wallet.credits(), wallet.available)

    result = await uow.write(work)
    log.info("credits added", extra={"user_id": user_id, "amount": amount, "kind": kind})
    return result


async def _replay(db: AsyncSession, wallet: Wallet, meta: Meta) -> LedgerResult | None:
    """Return the first result for the request's key, refuse the key with other parameters."""
    assert meta.idem_key is not None
    row = await by_key(db, meta.idem_key)
    if row is None:
        return None
    if row.fingerprint != meta.fingerprint:
        raise checks.reused_key(meta.request_id)
    transaction = from_row(Transaction, row)
    return LedgerResult(transaction, wallet.credits(), wallet.available, replayed=True)
