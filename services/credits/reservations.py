"""Holds for jobs, two-phase: reserve, then capture (all or part) or release, or expiry.

A hold resolves exactly once: every resolution happens under its owner's wallet lock and is a
conditional UPDATE of a pending hold, so racing captures, releases and the expiry sweep see
one winner; the others get the resolved hold (a repeat of the same call) or FAILED_PRECONDITION.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.credits import checks, holds, records
from services.credits.checks import Outcome
from services.credits.ledger import Meta, book, by_key, lock, save
from services.credits.models import ReservationRow
from services.credits.records import Reservation, from_row
from services.credits.uow import UnitOfWork

MAX_TTL_SECONDS = 7 * 86400


async def reserve(
    uow: UnitOfWork,
    *,
    default_ttl: int,
    user_id: int,
    amount: int,
    idempotency_key: str,
    job: str,
    ttl_seconds: int,
    actor: str,
) -> Reservation:
    """Place a pending hold; a repeated key returns the first hold in its current state."""
    checks.amount(amount)
    request_id = checks.key(idempotency_key)
    ttl = ttl_seconds or default_ttl  # 0: the studio's setting
    if not 0 < ttl <= MAX_TTL_SECONDS:
        raise errors.InvalidArgument.field("ttl_seconds", f"must be 1 to {MAX_TTL_SECONDS}")
    meta = Meta(
        reason=f"hold for {job}" if job else "hold",
        actor=actor,
        request_id=request_id,
        idem_key=f"reserve:{request_id}",
        fingerprint=checks.fingerprint(
            records.RESERVATION, user=user_id, amount=amount, job=checks.job(job), ttl=ttl
        ),
        job=job,
    )

    async def work(db: AsyncSession, now: datetime) -> Outcome[Reservation]:
        wallet = await lock(db, user_id)
        first = await by_key(db, f"reserve:{request_id}")
        if first is not None:
            if first.fingerprint != meta.fingerprint or first.reservation_id is None:
                raise checks.reused_key(request_id)
            hold = await db.get(ReservationRow, first.reservation_id)
            assert hold is not None
            return from_row(Reservation, hold)
        await holds.settle(db, wallet, now)
        if not wallet.covers(amount):
            await save(db, wallet)
            return errors.InsufficientCredits(
                user=f"users/{user_id}", required=amount, available=wallet.available
            )
        split, lots = await holds.spend(db, wallet, amount, "held", now)
        hold = ReservationRow(
            user_id=user_id,
            amount=amount,
            captured_amount=0,
            state=records.PENDING,
            job=job,
            from_monthly=split[0],
            from_bonus=split[1],
            from_purchased=split[2],
            lots=json.dumps(lots) if lots else "",
            period=wallet.monthly_period,
            reason="",
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
        db.add(hold)
        await db.flush()
        with_hold = dataclasses.replace(meta, reservation_id=hold.id)
        await book(db, wallet, records.RESERVATION, now, with_hold)
        await save(db, wallet)
        return from_row(Reservation, hold)

    return await uow.write(work)


async def _owner(uow: UnitOfWork, reservation_id: int) -> int:
    async with uow.reader() as db:
        user_id = await db.scalar(
            select(ReservationRow.user_id).where(ReservationRow.id == reservation_id)
        )
    if user_id is None:
        raise errors.NotFound(f"reservations/{reservation_id} not found")
    return user_id


def _resolved(hold: ReservationRow) -> errors.FailedPrecondition:
    state = hold.state
    return errors.FailedPrecondition(
        f"reservations/{hold.id} is already {state}",
        reason=f"RESERVATION_{state.upper()}",
        metadata={"reservation": f"reservations/{hold.id}", "state": state},
        subject=f"reservations/{hold.id}",
    )


async def capture(uow: UnitOfWork, *, reservation_id: int, amount: int, actor: str) -> Reservation:
    """Take `amount` (0: all) of a pending hold and return the rest."""
    if amount < 0:
        raise errors.InvalidArgument.field("amount", "must not be negative")
    user_id = await _owner(uow, reservation_id)

    async def work(db: AsyncSession, now: datetime) -> Outcome[Reservation]:
        wallet = await lock(db, user_id)
        hold = await db.get(ReservationRow, reservation_id, populate_existing=True)
        assert hold is not None
        await holds.settle(db, wallet, now)  # expires this hold too if its time has come
        wanted = amount or hold.amount
        outcome: Outcome[Reservation]
        if hold.state == records.CAPTURED and wanted == hold.captured_amount:
            outcome = from_row(Reservation, hold)  # the same capture again
        elif hold.state != records.PENDING:
            outcome = _resolved(hold)
        elif wanted > hold.amount:
            raise errors.InvalidArgument.field("amount", f"must be at most the hold, {hold.amount}")
        else:
            meta = Meta(reason=f"captured {wanted} of {hold.amount}", actor=actor)
            await holds.resolve(db, wallet, hold, records.CAPTURED, wanted, now, meta)
            outcome = from_row(Reservation, hold)
        await save(db, wallet)
        return outcome

    return await uow.write(work)


async def release(uow: UnitOfWork, *, reservation_id: int, reason: str, actor: str) -> Reservation:
    """Return a pending hold; a released or expired one is returned as it is."""
    checks.reason(reason)
    user_id = await _owner(uow, reservation_id)

    async def work(db: AsyncSession, now: datetime) -> Outcome[Reservation]:
        wallet = await lock(db, user_id)
        hold = await db.get(ReservationRow, reservation_id, populate_existing=True)
        assert hold is not None
        await holds.settle(db, wallet, now)
        outcome: Outcome[Reservation]
        if hold.state in (records.RELEASED, records.EXPIRED):
            outcome = from_row(Reservation, hold)
        elif hold.state != records.PENDING:
            outcome = _resolved(hold)
        else:
            meta = Meta(reason=reason or "released", actor=actor)
            await holds.resolve(db, wallet, hold, records.RELEASED, 0, now, meta)
            outcome = from_row(Reservation, hold)
        await save(db, wallet)
        return outcome

    return await uow.write(work)
