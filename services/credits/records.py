"""What the credits domain returns: balances, ledger transactions, holds and outcomes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from services.common.records import Record

R = TypeVar("R", bound=Record)

# Transaction kinds, as stored and as the history filter takes them.
PURCHASE = "purchase"
GRANT = "grant"
MONTHLY_ALLOWANCE = "monthly_allowance"
DEDUCTION = "deduction"
RESERVATION = "reservation"
CAPTURE = "capture"
RELEASE = "release"
EXPIRY = "expiry"
REFUND = "refund"
ADJUSTMENT = "adjustment"
KINDS = (
    PURCHASE,
    GRANT,
    MONTHLY_ALLOWANCE,
    DEDUCTION,
    RESERVATION,
    CAPTURE,
    RELEASE,
    EXPIRY,
    REFUND,
    ADJUSTMENT,
)

# Hold states.
PENDING = "pending"
CAPTURED = "captured"
RELEASED = "released"
EXPIRED = "expired"


@dataclass(frozen=True)
class Credits(Record):
    """A user's balances. `monthly` and `purchased` include what is on hold, so
    available = monthly + purchased - reserved; `balance` is `available` under the product
    docs' name."""

    user_id: int
    available: int
    reserved: int
    monthly: int
    purchased: int
    # The part of `purchased` that was granted with an expiry date.
    expiring: int
    tier: str
    monthly_expires_at: datetime | None
    balance: int


@dataclass(frozen=True)
class Sufficiency(Record):
    """Whether a user can spend an amount now."""

    sufficient: bool
    available: int
    shortfall: int


@dataclass(frozen=True)
class Transaction(Record):
    """One ledger transaction as its user sees it."""

    id: int
    user_id: int
    kind: str
    # The signed change of the available balance, and that balance afterwards.
    amount: int
    balance_after: int
    reason: str
    actor: str
    request_id: str
    job: str
    reservation_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class LedgerResult(Record):
    """The outcome of a deduction or an addition; `replayed` when its key had been used."""

    transaction: Transaction
    credits: Credits
    balance: int
    replayed: bool = False


@dataclass(frozen=True)
class Reservation(Record):
    """A hold for a job."""

    id: int
    user_id: int
    amount: int
    captured_amount: int
    state: str
    job: str
    reason: str
    created_at: datetime
    expires_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class ResetResult(Record):
    """What a monthly reset did."""

    period: str
    granted_users: int
    skipped_users: int


@dataclass(frozen=True)
class PaymentOutcome(Record):
    """What a payment-provider event did; `applied` is False for duplicates and ignored types."""

    event_id: str
    applied: bool
    outcome: str


@dataclass(frozen=True)
class Difference(Record):
    """One stored figure that disagrees with what the ledger says."""

    user_id: int
    account: str
    stored: int
    expected: int


@dataclass(frozen=True)
class Report(Record):
    """The outcome of a verification."""

    wallets: int
    entries: int
    system: dict[str, int]
    differences: list[Difference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Tell whether every balance matches the ledger."""
        return not self.differences


def from_row(record: type[R], row: Any) -> R:
    """Return a record of the values a row (or a result row) holds under its field names."""
    fields = dataclasses.fields(record)  # type: ignore[arg-type]
    return record(**{field.name: getattr(row, field.name) for field in fields})
