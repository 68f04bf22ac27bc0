"""Tables of the credits ledger: wallets, transactions and their entries, holds, lots, payments.

The ledger proper is `credit_entries` (append-only, one debit and one credit account each) grouped
by `credit_transactions` (what a user sees in the history). `credit_wallets` holds each user's
account balances so that the no-overdraft rule is one conditional UPDATE on one row; `ledger
verify` recomputes those balances from the entries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import Base

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class WalletRow(Base):
    """A user's accounts: spendable monthly, bonus (expiring grants) and purchased credits, and
    the same three on hold. Every column is a ledger account; none may go below zero."""

    __tablename__ = "credit_wallets"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    monthly: Mapped[int] = mapped_column(BigInteger, default=0)
    bonus: Mapped[int] = mapped_column(BigInteger, default=0)
    purchased: Mapped[int] = mapped_column(BigInteger, default=0)
    held_monthly: Mapped[int] = mapped_column(BigInteger, default=0)
    held_bonus: Mapped[int] = mapped_column(BigInteger, default=0)
    held_purchased: Mapped[int] = mapped_column(BigInteger, default=0)
    # The calendar month ("YYYY-MM", UTC) whose allowance `monthly` holds, and when it lapses.
    monthly_period: Mapped[str] = mapped_column(String(7), default="")
    monthly_expires_at: Mapped[datetime | None]
    # The monthly part of the latest debit: RETURNING only sees new values, so the one-statement
    # debit records its split here to read it back.
    last_monthly_debit: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        CheckConstraint(
            "monthly >= 0 AND bonus >= 0 AND purchased >= 0",
            name="spendable_non_negative",
        ),
        CheckConstraint(
            "held_monthly >= 0 AND held_bonus >= 0 AND held_purchased >= 0",
            name="held_non_negative",
        ),
    )


class TransactionRow(Base):
    """One business transaction as the user sees it; its entries are the double-entry legs."""

    __tablename__ = "credit_transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(24))
    # The signed change of the user's available balance, and that balance afterwards.
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(200), default="")
    request_id: Mapped[str] = mapped_column(String(200), default="")
    # "<operation>:<request_id>": the first result for a key is the only one ever made.
    idem_key: Mapped[str | None] = mapped_column(String(260), unique=True)
    # SHA-256 of the request's parameters, to refuse a key reused with different ones.
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    job: Mapped[str] = mapped_column(String(200), default="")
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("credit_reservations.id"))
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("balance_after >= 0", name="balance_after_non_negative"),
        Index("ix_credit_transactions_user_id_created_at", "user_id", "created_at", "id"),
    )


class EntryRow(Base):
    """One leg: `amount` leaves the debit account and enters the credit account. Never changed.

    Account names are a user's wallet columns ("monthly", "held_bonus", ...) of `user_id`, or
    the system accounts "issued", "consumed" and "expired"."""

    __tablename__ = "credit_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("credit_transactions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    debit: Mapped[str] = mapped_column(String(16))
    credit: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit <> credit", name="distinct_accounts"),
    )


class ReservationRow(Base):
    """A hold for a job: pending until captured, released or expired, exactly once."""

    __tablename__ = "credit_reservations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    captured_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    job: Mapped[str] = mapped_column(String(200), default="")
    # Where the held credits came from, so what is not captured goes back where it was.
    from_monthly: Mapped[int] = mapped_column(BigInteger, default=0)
    from_bonus: Mapped[int] = mapped_column(BigInteger, default=0)
    from_purchased: Mapped[int] = mapped_column(BigInteger, default=0)
    # JSON [[lot_id, credits], ...] of the bonus part, soonest-expiring lot first.
    lots: Mapped[str] = mapped_column(Text, default="")
    # The monthly period of the held monthly credits: a remainder after it lapses expires.
    period: Mapped[str] = mapped_column(String(7), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "captured_amount >= 0 AND captured_amount <= amount", name="captured_within_amount"
        ),
        CheckConstraint(
            "from_monthly + from_bonus + from_purchased = amount", name="sources_add_up"
        ),
        CheckConstraint(
            "state IN ('pending', 'captured', 'released', 'expired')", name="state_known"
        ),
        Index("ix_credit_reservations_state_expires_at", "state", "expires_at"),
    )


class LotRow(Base):
    """Granted credits that lapse at `expires_at`; `remaining` is their unspent, unheld part."""

    __tablename__ = "credit_lots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("credit_transactions.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
        Index("ix_credit_lots_user_id_expires_at", "user_id", "expires_at"),
    )


class PaymentRow(Base):
    """A provider payment (a checkout's payment intent): what it bought and what was refunded.

    The row can appear before the purchase when a refund event arrives first; both kinds of
    event lock this row, so their effects apply once and in a consistent order."""

    __tablename__ = "credit_payments"

    payment_ref: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    price_id: Mapped[str] = mapped_column(String(255), default="")
    credits: Mapped[int] = mapped_column(BigInteger, default=0)
    credited_at: Mapped[datetime | None]
    # The provider's cumulative refund of `charge_amount` (minor units of its currency).
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    charge_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    # Credits taken back so far, and those the user had already spent.
    credits_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_unrecovered: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]


class PaymentEventRow(Base):
    """A provider event seen once; a redelivery of its id is answered as a duplicate."""

    __tablename__ = "credit_payment_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    payment_ref: Mapped[str] = mapped_column(String(255), default="")
    outcome: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime]
