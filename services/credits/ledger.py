"""The posting engine: lock a wallet, move credits between accounts, book transactions.

Every change of a balance is a leg that debits one account and credits another; `Wallet.move`
applies it to the locked wallet in memory and `book` writes the legs as entries of one
transaction. Nothing here commits: the service opens the transaction around it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors, metrics
from services.common.db import Database, insert_ignore
from services.common.hot_reads import Found
from services.credits.members import USERS
from services.credits.models import EntryRow, TransactionRow, WalletRow
from services.credits.records import Credits

MONTHLY, BONUS, PURCHASED = "monthly", "bonus", "purchased"
# The accounts a user can spend from, in the order a debit draws on them.
SPENDABLE = (MONTHLY, BONUS, PURCHASED)
HELD = {MONTHLY: "held_monthly", BONUS: "held_bonus", PURCHASED: "held_purchased"}
USER_ACCOUNTS = (*SPENDABLE, *HELD.values())
# System accounts: where credits come from, and where spent or lapsed credits go.
ISSUED, CONSUMED, LAPSED = "issued", "consumed", "expired"
SYSTEM_ACCOUNTS = (ISSUED, CONSUMED, LAPSED)

# Where `book` notes the credits a session's transactions issue and consume (see `flowed`).
_FLOW = "credits_flow"

_WALLET_COLUMNS = (*USER_ACCOUNTS, "monthly_period", "monthly_expires_at", "version")
_spendable = attrgetter(*SPENDABLE)


def covers(available: int, amount: int) -> bool:
    """Tell whether an available balance pays a debit of `amount`: the no-overdraft rule."""
    return available >= amount


def covers_sql(wallet: str, amount: str) -> str:
    """Return `covers` as a SQL condition on the wallet row `wallet` and the `amount` parameter.

    The one-statement debit of `fastpath` enforces the rule in SQL; it is written from the same
    accounts and the same comparison as `covers`, and a test holds the two equal at the edges.
    """
    available = " + ".join(f"{wallet}.{account}" for account in SPENDABLE)
    return f"{available} >= {amount}"


@dataclass(frozen=True)
class Leg:
    """One movement: `amount` leaves `debit` and enters `credit`."""

    debit: str
    credit: str
    amount: int


@dataclass
class Wallet:
    """A user's wallet, locked for the current database transaction, with its pending legs."""

    user_id: int
    tier: str
    monthly: int = 0
    bonus: int = 0
    purchased: int = 0
    held_monthly: int = 0
    held_bonus: int = 0
    held_purchased: int = 0
    monthly_period: str = ""
    monthly_expires_at: datetime | None = None
    version: int = 0
    legs: list[Leg] = field(default_factory=list)
    booked_available: int = 0

    @property
    def available(self) -> int:
        """Return the credits that can be spent now."""
        return sum(_spendable(self))

    def covers(self, amount: int) -> bool:
        """Tell whether the available credits pay a debit of `amount`."""
        return covers(self.available, amount)

    @property
    def reserved(self) -> int:
        """Return the credits on hold."""
        return self.held_monthly + self.held_bonus + self.held_purchased

    def move(self, debit: str, credit: str, amount: int) -> None:
        """Add a leg and apply it to the balances; a user account never goes below zero."""
        if amount == 0:
            return
        if amount < 0 or debit == credit:
            raise ValueError(f"invalid leg {debit} -> {credit} of {amount}")
        if debit in USER_ACCOUNTS:
            if getattr(self, debit) < amount:
                raise ValueError(f"leg {debit} -> {credit} of {amount} would overdraw {debit}")
            setattr(self, debit, getattr(self, debit) - amount)
        if credit in USER_ACCOUNTS:
            setattr(self, credit, getattr(self, credit) + amount)
        self.legs.append(Leg(debit, credit, amount))

    def split(self, amount: int) -> tuple[int, int, int]:
        """Return how a debit draws on monthly, then bonus, then purchased credits."""
        monthly = min(self.monthly, amount)
        bonus = min(self.bonus, amount - monthly)
        return monthly, bonus, amount - monthly - bonus

    def credits(self) -> Credits:
        """Return the balances as the user sees them."""
        return Credits(
            user_id=self.user_id,
            available=self.available,
            reserved=self.reserved,
            monthly=self.monthly + self.held_monthly,
            purchased=self.bonus + self.purchased + self.held_bonus + self.held_purchased,
            expiring=self.bonus + self.held_bonus,
            tier=self.tier,
            monthly_expires_at=self.monthly_expires_at if self.monthly_period else None,
            balance=self.available,
        )

    @classmethod
    def of(cls, row: Any, tier: str) -> Wallet:
        """Build from a row that has the wallet's columns."""
        values = {name: getattr(row, name) for name in _WALLET_COLUMNS}
        wallet = cls(user_id=row.user_id, tier=tier, **values)
        wallet.booked_available = wallet.available
        return wallet


def _wallet_columns() -> list[Any]:
    return [WalletRow.user_id, *(getattr(WalletRow, name) for name in _WALLET_COLUMNS)]


async def lock(db: AsyncSession, user_id: int) -> Wallet:
    """Lock a user's wallet for this transaction, creating it on first use.

    The lock is a write (a version bump) rather than SELECT FOR UPDATE: PostgreSQL takes the
    row lock, and SQLite takes its single-writer lock at once instead of upgrading later.
    """
    tier = select(USERS.c.tier).where(USERS.c.id == WalletRow.user_id).scalar_subquery()
    statement = (
        update(WalletRow)
        .where(WalletRow.user_id == user_id)
        .values(version=WalletRow.version + 1)
        .returning(*_wallet_columns(), tier.label("tier"))
    )
    row = (await db.execute(statement)).one_or_none()
    if row is None:
        if await db.scalar(select(USERS.c.id).where(USERS.c.id == user_id)) is None:
            raise errors.NotFound(f"users/{user_id} not found")
        await insert_ignore(db, WalletRow.__table__, {"user_id": user_id})
        row = (await db.execute(statement)).one()
    return Wallet.of(row, row.tier)


# A wallet and its owner's tier, read without a lock: one fixed statement, so GetCredits can
# run it on the hot-read path (hot_reads.py) and a transaction through its session.
_PEEK = (
    select(*_wallet_columns(), USERS.c.tier)
    .select_from(USERS)
    .outerjoin(WalletRow, WalletRow.user_id == USERS.c.id)
    .where(USERS.c.id == bindparam("user_id"))
)


async def peek(db: AsyncSession, user_id: int) -> Wallet:
    """Read a wallet without locking it (zeros for a user who never had credits)."""
    return _peeked((await db.execute(_PEEK, {"user_id": user_id})).one_or_none(), user_id)


async def read(database: Database, user_id: int) -> Wallet:
    """Read a wallet as `peek` does, outside any transaction, on the hot-read path.

    A kept row (row_cache.py) serves many calls one wallet, made once: callers only read it.
    """
    tags = (f"credit_wallets:{user_id}", f"users:{user_id}")  # migration 0009's announcements
    row = await database.read_row(_PEEK, {"user_id": user_id}, tags)
    if row is not None and row.user_id is not None:
        return row.derived(_kept_wallet)
    return _peeked(row, user_id)


def _kept_wallet(row: Found) -> Wallet:
    return Wallet.of(row, row.tier)


def _peeked(row: Any, user_id: int) -> Wallet:
    """Return the wallet of a `_PEEK` row; NOT_FOUND when the user does not exist."""
    if row is None:
        raise errors.NotFound(f"users/{user_id} not found")
    if row.user_id is None:
        return Wallet(user_id=user_id, tier=row.tier)
    return Wallet.of(row, row.tier)


async def save(db: AsyncSession, wallet: Wallet) -> None:
    """Write the wallet's balances back (the CHECK constraints are the last line of defence)."""
    if wallet.legs:
        raise RuntimeError("unbooked legs")
    values = {name: getattr(wallet, name) for name in _WALLET_COLUMNS if name != "version"}
    result = await db.execute(
        update(WalletRow)
        .where(WalletRow.user_id == wallet.user_id, WalletRow.version == wallet.version)
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise RuntimeError(f"wallet of user {wallet.user_id} changed under its lock")


@dataclass(frozen=True)
class Meta:
    """What a transaction records besides its legs."""

    reason: str = ""
    actor: str = ""
    request_id: str = ""
    idem_key: str | None = None
    fingerprint: str = ""
    job: str = ""
    reservation_id: int | None = None


async def book(
    db: AsyncSession, wallet: Wallet, kind: str, now: datetime, meta: Meta
) -> TransactionRow:
    """Write the wallet's pending legs as one transaction and its entries."""
    row = TransactionRow(
        user_id=wallet.user_id,
        kind=kind,
        amount=wallet.available - wallet.booked_available,
        balance_after=wallet.available,
        reason=meta.reason[:500],
        actor=meta.actor,
        request_id=meta.request_id,
        idem_key=meta.idem_key,
        fingerprint=meta.fingerprint,
        job=meta.job,
        reservation_id=meta.reservation_id,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    issued, consumed = db.info.setdefault(_FLOW, (Counter(), Counter()))
    for leg in wallet.legs:
        if leg.debit == ISSUED:
            issued[kind] += leg.amount
        elif leg.credit == CONSUMED:
            consumed[kind] += leg.amount
    if wallet.legs:
        await db.execute(
            insert(EntryRow),
            [
                {
                    "transaction_id": row.id,
                    "user_id": wallet.user_id,
                    "debit": leg.debit,
                    "credit": leg.credit,
                    "amount": leg.amount,
                }
                for leg in wallet.legs
            ],
        )
    wallet.legs.clear()
    wallet.booked_available = wallet.available
    return row


def flowed(db: AsyncSession) -> None:
    """Count what the session's committed transactions issued and consumed (after commit)."""
    if (flow := db.info.pop(_FLOW, None)) is not None:
        metrics.credits_moved(*flow)


async def by_key(db: AsyncSession, idem_key: str) -> TransactionRow | None:
    """Return the transaction made with an idempotency key, if any."""
    return await db.scalar(select(TransactionRow).where(TransactionRow.idem_key == idem_key))
