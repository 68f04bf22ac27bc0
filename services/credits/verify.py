"""`ledger verify`: recompute every balance from the entries and report each difference.

Checked per user: each wallet account against the sum of its entries; the available balance
against the sum of the transactions' amounts and the last `balance_after`; the bonus account
against the lots; the held accounts against the pending holds. Globally: the system accounts and
the users' accounts add up to zero, as double entry requires.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Executable, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import Database
from services.credits.ledger import (
    BONUS,
    HELD,
    MONTHLY,
    PURCHASED,
    SPENDABLE,
    SYSTEM_ACCOUNTS,
    USER_ACCOUNTS,
)
from services.credits.models import EntryRow, LotRow, ReservationRow, TransactionRow, WalletRow
from services.credits.records import PENDING, Difference, Report


async def _sums(db: AsyncSession) -> tuple[dict[tuple[int, str], int], int]:
    """Return the balance of every (user, account) from the entries, and the entry count."""
    balances: dict[tuple[int, str], int] = defaultdict(int)
    count = 0
    for side, sign in ((EntryRow.credit, 1), (EntryRow.debit, -1)):
        rows = await db.execute(
            select(EntryRow.user_id, side, func.sum(EntryRow.amount), func.count()).group_by(
                EntryRow.user_id, side
            )
        )
        for user_id, account, total, entries in rows:
            balances[(user_id, account)] += sign * int(total)
            count += entries if sign > 0 else 0
    return balances, count


async def _grouped(db: AsyncSession, statement: Executable) -> dict[int, tuple[int, ...]]:
    """Return {user_id: (sums...)} of a statement grouped by its first column."""
    rows = await db.execute(statement)
    return {row[0]: tuple(int(value or 0) for value in row[1:]) for row in rows}


async def verify(database: Database) -> Report:
    """Check every wallet against the ledger in one consistent snapshot."""
    async with database.session() as db, db.begin():
        # One snapshot for every query, so concurrent postings cannot look like differences.
        if database.dialect_name == "postgresql":
            await db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        else:  # the SQLite driver opens no transaction for reads on its own
            await (await db.connection()).exec_driver_sql("BEGIN")
        balances, entries = await _sums(db)
        wallets = list(await db.scalars(select(WalletRow)))
        transactions = await _grouped(
            db,
            select(
                TransactionRow.user_id, func.sum(TransactionRow.amount), func.max(TransactionRow.id)
            ).group_by(TransactionRow.user_id),
        )
        lasts = {
            row.user_id: row.balance_after
            for row in await db.execute(
                select(TransactionRow.user_id, TransactionRow.balance_after).where(
                    TransactionRow.id.in_([last for _, last in transactions.values()])
                )
            )
        }
        lots = await _grouped(
            db, select(LotRow.user_id, func.sum(LotRow.remaining)).group_by(LotRow.user_id)
        )
        pending = await _grouped(
            db,
            select(
                ReservationRow.user_id,
                func.sum(ReservationRow.from_monthly),
                func.sum(ReservationRow.from_bonus),
                func.sum(ReservationRow.from_purchased),
            )
            .where(ReservationRow.state == PENDING)
            .group_by(ReservationRow.user_id),
        )
    differences: list[Difference] = []

    def check(user_id: int, account: str, stored: int, expected: int) -> None:
        if stored != expected:
            differences.append(Difference(user_id, account, stored, expected))

    seen = set()
    for wallet in wallets:
        uid = wallet.user_id
        seen.add(uid)
        for account in USER_ACCOUNTS:
            check(uid, account, getattr(wallet, account), balances.get((uid, account), 0))
        available = sum(getattr(wallet, account) for account in SPENDABLE)
        check(uid, "transactions", transactions.get(uid, (0, 0))[0], available)
        check(uid, "balance_after", lasts.get(uid, 0), available)
        check(uid, "lots", lots.get(uid, (0,))[0], wallet.bonus)
        held = pending.get(uid, (0, 0, 0))
        for account, total in zip((MONTHLY, BONUS, PURCHASED), held, strict=True):
            check(uid, f"holds:{account}", total, getattr(wallet, HELD[account]))
    for (uid, account), total in balances.items():
        if account in USER_ACCOUNTS and uid not in seen and total:
            check(uid, account, 0, total)
    system = {
        name: sum(v for (_, a), v in balances.items() if a == name) for name in SYSTEM_ACCOUNTS
    }
    if sum(balances.values()) != 0:
        differences.append(Difference(0, "double-entry", sum(balances.values()), 0))
    return Report(len(wallets), entries, system, differences)
