"""Monthly allowances by tier, once per (user, calendar month), and the periodic expiry sweep.

An allowance is granted into the user's `monthly` account and lapses at the end of its UTC
calendar month (lazily on the next use of the wallet, or by the sweep, whichever comes first).
The wallet's `monthly_period` marks the month granted, so a grant is made at most once; the
transaction's idempotency key "monthly:<user>:<period>" backs that up at the database.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.credits import holds, records
from services.credits.ledger import ISSUED, MONTHLY, Meta, book, lock, peek, save
from services.credits.members import ACTIVE, USERS
from services.credits.models import LotRow, ReservationRow, WalletRow
from services.credits.records import ResetResult
from services.credits.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 500
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def period_of(moment: datetime) -> str:
    """Return the calendar month ("YYYY-MM", UTC) of a moment."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def period_end(period: str) -> datetime:
    """Return the first instant after a period."""
    year, month = (int(part) for part in period.split("-"))
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


async def grant(
    uow: UnitOfWork, allowances: Mapping[str, int], *, user_id: int, period: str
) -> bool:
    """Grant one user the period's allowance of their tier; False if they already had it."""

    async def work(db: AsyncSession, now: datetime) -> bool:
        wallet = await lock(db, user_id)
        if wallet.monthly_period >= period:
            return False
        await holds.settle(db, wallet, now)  # the last period's credits lapse first
        allowance = allowances.get(wallet.tier, 0)
        wallet.move(ISSUED, MONTHLY, allowance)
        wallet.monthly_period, wallet.monthly_expires_at = period, period_end(period)
        if allowance:
            meta = Meta(
                reason=f"{wallet.tier} allowance for {period}",
                actor=holds.SYSTEM_ACTOR,
                request_id=period,
                idem_key=f"monthly:{user_id}:{period}",
                fingerprint=period,
            )
            await book(db, wallet, records.MONTHLY_ALLOWANCE, now, meta)
        await save(db, wallet)
        return True

    return await uow.write(work)


async def grant_if_due(
    uow: UnitOfWork, allowances: Mapping[str, int], *, user_id: int, now: datetime
) -> bool:
    """Grant this month's allowance on the wallet's first use in the month, if not yet had."""
    period = period_of(now)
    async with uow.reader() as db:
        if (await peek(db, user_id)).monthly_period >= period:
            return False
    return await grant(uow, allowances, user_id=user_id, period=period)


async def reset(
    uow: UnitOfWork,
    allowances: Mapping[str, int],
    *,
    period: str | None,
    user_id: int | None,
) -> ResetResult:
    """Grant the current month's allowances to every active user (or one user)."""
    current = period_of(uow.clock())
    period = period or current
    if not _PERIOD.match(period) or period != current:
        raise errors.InvalidArgument.field(
            "period", f"must be the current month, {current} (YYYY-MM, UTC), or empty"
        )
    if user_id is not None:
        done = await grant(uow, allowances, user_id=user_id, period=period)
        return ResetResult(period, int(done), int(not done))
    granted = skipped = 0
    async with uow.reader() as db:
        skipped = (
            await db.scalar(
                select(func.count())
                .select_from(WalletRow)
                .join(USERS, USERS.c.id == WalletRow.user_id)
                .where(USERS.c.state == ACTIVE, WalletRow.monthly_period == period)
            )
            or 0
        )
    after = 0
    while True:
        async with uow.reader() as db:
            ids: list[int] = list(
                await db.scalars(
                    select(USERS.c.id)
                    .outerjoin(WalletRow, WalletRow.user_id == USERS.c.id)
                    .where(USERS.c.state == ACTIVE, USERS.c.id > after)
                    .where(or_(WalletRow.user_id.is_(None), WalletRow.monthly_period != period))
                    .order_by(USERS.c.id)
                    .limit(BATCH)
                )
            )
        if not ids:
            break
        for uid in ids:
            if await grant(uow, allowances, user_id=uid, period=period):
                granted += 1
            else:
                skipped += 1
        after = ids[-1]
    if granted:
        log.info("monthly credits granted", extra={"period": period, "users": granted})
    return ResetResult(period, granted, skipped)


async def expire_due(
    uow: UnitOfWork, allowances: Mapping[str, int], *, now: datetime, auto_monthly: bool
) -> int:
    """Settle wallets with due holds or lapsed credits; grant allowances too if `auto_monthly`."""
    async with uow.reader() as db:
        due = set(
            await db.scalars(
                select(ReservationRow.user_id)
                .where(ReservationRow.state == records.PENDING, ReservationRow.expires_at <= now)
                .limit(BATCH)
            )
        )
        due |= set(
            await db.scalars(
                select(WalletRow.user_id)
                .where(WalletRow.monthly > 0, WalletRow.monthly_expires_at <= now)
                .limit(BATCH)
            )
        )
        due |= set(
            await db.scalars(
                select(LotRow.user_id)
                .where(LotRow.remaining > 0, LotRow.expires_at <= now)
                .limit(BATCH)
            )
        )

    async def settle(user_id: int) -> None:
        async def work(db: AsyncSession, _: datetime) -> None:
            wallet = await lock(db, user_id)
            await holds.settle(db, wallet, now)
            await save(db, wallet)

        await uow.write(work)

    for user_id in sorted(due):
        await settle(user_id)
    if due:
        log.info("credits settled", extra={"users": len(due)})
    if auto_monthly:
        await reset(uow, allowances, period=None, user_id=None)
    return len(due)
