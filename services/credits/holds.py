"""Drawing credits in order, resolving holds, and what time does to a wallet.

Every function here runs under the wallet lock of `ledger.lock`, which also guards the user's
lots and holds: they only change while their owner's wallet is locked.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import bindparam, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import Database
from services.credits import records
from services.credits.ledger import (
    BONUS,
    CONSUMED,
    HELD,
    LAPSED,
    MONTHLY,
    PURCHASED,
    Meta,
    Wallet,
    book,
)
from services.credits.models import LotRow, ReservationRow

SYSTEM_ACTOR = "services/credits"


async def take_lots(
    db: AsyncSession, wallet: Wallet, amount: int, now: datetime
) -> list[tuple[int, int]]:
    """Take `amount` bonus credits from the user's lots, soonest-expiring first."""
    if amount == 0:
        return []
    lots = await db.scalars(
        select(LotRow)
        .where(LotRow.user_id == wallet.user_id, LotRow.remaining > 0, LotRow.expires_at > now)
        .order_by(LotRow.expires_at, LotRow.id)
    )
    taken: list[tuple[int, int]] = []
    left = amount
    for lot in lots:
        part = min(lot.remaining, left)
        lot.remaining -= part
        taken.append((lot.id, part))
        left -= part
        if left == 0:
            return taken
    raise RuntimeError(f"lots of user {wallet.user_id} hold less than its bonus balance")


async def spend(
    db: AsyncSession, wallet: Wallet, amount: int, to: str, now: datetime
) -> tuple[tuple[int, int, int], list[tuple[int, int]]]:
    """Move `amount` from the spendable accounts (monthly, bonus, purchased) to `to`.

    `to` is CONSUMED for a deduction or "held" for a hold; returns the split and lots used.
    """
    split = wallet.split(amount)
    lots = await take_lots(db, wallet, split[1], now)
    for account, part in zip((MONTHLY, BONUS, PURCHASED), split, strict=True):
        wallet.move(account, HELD[account] if to == "held" else to, part)
    return split, lots


async def _return_bonus(
    db: AsyncSession, wallet: Wallet, hold: ReservationRow, amount: int, now: datetime
) -> None:
    """Give an uncaptured bonus part back to the lots it came from, latest-expiring first."""
    drawn: list[list[int]] = json.loads(hold.lots) if hold.lots else []
    for lot_id, part in reversed(drawn):
        if amount == 0:
            return
        back = min(part, amount)
        amount -= back
        lot = await db.get(LotRow, lot_id)
        if lot is not None and lot.expires_at > now:
            lot.remaining += back
            wallet.move(HELD[BONUS], BONUS, back)
        else:
            wallet.move(HELD[BONUS], LAPSED, back)
    wallet.move(HELD[BONUS], LAPSED, amount)


async def resolve(
    db: AsyncSession,
    wallet: Wallet,
    hold: ReservationRow,
    state: str,
    captured: int,
    now: datetime,
    meta: Meta,
) -> None:
    """Capture `captured` of a pending hold and return the rest; books and marks it resolved."""
    result = await db.execute(
        update(ReservationRow)
        .where(ReservationRow.id == hold.id, ReservationRow.state == records.PENDING)
        .values(state=state, captured_amount=captured, resolved_at=now, reason=meta.reason[:500])
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise RuntimeError(f"hold {hold.id} resolved twice")
    meta = Meta(reason=meta.reason, actor=meta.actor, job=hold.job, reservation_id=hold.id)
    sources = (hold.from_monthly, hold.from_bonus, hold.from_purchased)
    left = captured
    for account, source in zip((MONTHLY, BONUS, PURCHASED), sources, strict=True):
        part = min(source, left)
        wallet.move(HELD[account], CONSUMED, part)
        left -= part
    if captured:
        await book(db, wallet, records.CAPTURE, now, meta)
    rest_monthly = hold.from_monthly - min(hold.from_monthly, captured)
    rest_bonus = hold.from_bonus - min(hold.from_bonus, max(0, captured - hold.from_monthly))
    rest_purchased = hold.amount - captured - rest_monthly - rest_bonus
    # Monthly credits return only into the period they came from, while it lasts.
    current = wallet.monthly_period == hold.period and (
        wallet.monthly_expires_at is not None and wallet.monthly_expires_at > now
    )
    wallet.move(HELD[MONTHLY], MONTHLY if current else LAPSED, rest_monthly)
    await _return_bonus(db, wallet, hold, rest_bonus, now)
    wallet.move(HELD[PURCHASED], PURCHASED, rest_purchased)
    if wallet.legs:
        kind = records.RELEASE if wallet.available > wallet.booked_available else records.EXPIRY
        await book(db, wallet, kind, now, meta)


async def settle(db: AsyncSession, wallet: Wallet, now: datetime) -> None:
    """Apply what time has done: lapse monthly credits and due lots, expire due holds."""
    if wallet.monthly and wallet.monthly_expires_at and wallet.monthly_expires_at <= now:
        wallet.move(MONTHLY, LAPSED, wallet.monthly)
        reason = f"monthly credits of {wallet.monthly_period} lapsed"
        await book(db, wallet, records.EXPIRY, now, Meta(reason=reason, actor=SYSTEM_ACTOR))
    if wallet.bonus:
        due = await db.scalars(
            select(LotRow).where(
                LotRow.user_id == wallet.user_id, LotRow.remaining > 0, LotRow.expires_at <= now
            )
        )
        for lot in due:
            wallet.move(BONUS, LAPSED, lot.remaining)
            lot.remaining = 0
        if wallet.legs:
            meta = Meta(reason="granted credits lapsed", actor=SYSTEM_ACTOR)
            await book(db, wallet, records.EXPIRY, now, meta)
    if wallet.reserved:
        holds = await db.scalars(
            select(ReservationRow)
            .where(
                ReservationRow.user_id == wallet.user_id,
                ReservationRow.state == records.PENDING,
                ReservationRow.expires_at <= now,
            )
            .order_by(ReservationRow.expires_at, ReservationRow.id)
        )
        meta = Meta(reason="hold expired", actor=SYSTEM_ACTOR)
        for hold in list(holds):
            await resolve(db, wallet, hold, records.EXPIRED, 0, now, meta)


# When the next open lot or pending hold of a user falls due: fixed statements for hot reads,
# free of the clock, so their answers can be kept until a lot or hold of the user is written.
_NEXT_LOT = select(func.min(LotRow.expires_at).label("due_at")).where(
    LotRow.user_id == bindparam("user_id"), LotRow.remaining > literal_column("0")
)
_NEXT_HOLD = select(func.min(ReservationRow.expires_at).label("due_at")).where(
    ReservationRow.user_id == bindparam("user_id"),
    ReservationRow.state == bindparam("pending"),
)


async def has_due(database: Database, wallet: Wallet, now: datetime) -> bool:
    """Tell whether a wallet has lots or holds that time has resolved but nobody has yet."""
    user_id = wallet.user_id
    params = {"user_id": user_id, "pending": records.PENDING}
    if wallet.bonus:
        found = await database.read_row(_NEXT_LOT, params, (f"credit_lots@{user_id}",))
        if found is not None and found.due_at is not None and found.due_at <= now:
            return True
    if wallet.reserved:
        found = await database.read_row(_NEXT_HOLD, params, (f"credit_reservations@{user_id}",))
        return found is not None and found.due_at is not None and found.due_at <= now
    return False


def needs_settling(wallet: Wallet, now: datetime) -> bool:
    """Tell cheaply whether the monthly credits lapsed (lots and holds need a query)."""
    return bool(wallet.monthly and wallet.monthly_expires_at and wallet.monthly_expires_at <= now)
