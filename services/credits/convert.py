"""Proto <-> domain for the credits service."""

from __future__ import annotations

from datetime import UTC, datetime

from filmstudio.v1 import credits_pb2
from google.protobuf import timestamp_pb2

from services.common import errors
from services.common.context import Principal
from services.common.convert import timestamp, user_ref
from services.credits import records
from services.credits.records import Credits, Reservation, Transaction

KIND = {
    records.PURCHASE: credits_pb2.TRANSACTION_KIND_PURCHASE,
    records.GRANT: credits_pb2.TRANSACTION_KIND_GRANT,
    records.MONTHLY_ALLOWANCE: credits_pb2.TRANSACTION_KIND_MONTHLY_ALLOWANCE,
    records.DEDUCTION: credits_pb2.TRANSACTION_KIND_DEDUCTION,
    records.RESERVATION: credits_pb2.TRANSACTION_KIND_RESERVATION,
    records.CAPTURE: credits_pb2.TRANSACTION_KIND_CAPTURE,
    records.RELEASE: credits_pb2.TRANSACTION_KIND_RELEASE,
    records.EXPIRY: credits_pb2.TRANSACTION_KIND_EXPIRY,
    records.REFUND: credits_pb2.TRANSACTION_KIND_REFUND,
    records.ADJUSTMENT: credits_pb2.TRANSACTION_KIND_ADJUSTMENT,
}
KIND_NAME: dict[int, str] = {value: name for name, value in KIND.items()}
STATE = {
    records.PENDING: credits_pb2.RESERVATION_STATE_PENDING,
    records.CAPTURED: credits_pb2.RESERVATION_STATE_CAPTURED,
    records.RELEASED: credits_pb2.RESERVATION_STATE_RELEASED,
    records.EXPIRED: credits_pb2.RESERVATION_STATE_EXPIRED,
}


def kind_name(value: int, field: str = "kind") -> str | None:
    """Return the domain kind of a TransactionKind (None for UNSPECIFIED)."""
    if value == credits_pb2.TRANSACTION_KIND_UNSPECIFIED:
        return None
    if value not in KIND_NAME:
        raise errors.InvalidArgument.field(field, "is not a known transaction kind")
    return KIND_NAME[value]


def added_kind(value: int) -> str:
    """Return the kind of credits an AddCredits request gives ("" for UNSPECIFIED: refused)."""
    return kind_name(value) or ""


def moment(stamp: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    """Return an aware datetime for a set Timestamp field, None when unset."""
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def credits_name(name: str, field: str = "name") -> str:
    """Turn "users/{id}/credits" into "users/{id}" (or "users/me")."""
    parent, slash, rest = name.rpartition("/")
    if not slash or rest != "credits" or not parent:
        raise errors.InvalidArgument.field(field, "must look like users/{id}/credits")
    return parent


def credits_owner(name: str, principal: Principal) -> int:
    """Resolve a credits name ("users/{id}/credits"; empty: the caller's) to a user id."""
    return user_ref(credits_name(name or "users/me/credits"), principal)


def history_owner(parent: str, principal: Principal) -> int:
    """Resolve the parent of a transaction listing ("users/{id}"; empty: the caller) to an id."""
    return user_ref(parent or "users/me", principal, "parent")


def credits_message(credits: Credits) -> credits_pb2.Credits:
    """Return the proto of a user's balances."""
    return credits_pb2.Credits(
        name=f"users/{credits.user_id}/credits",
        available=credits.available,
        reserved=credits.reserved,
        monthly=credits.monthly,
        purchased=credits.purchased,
        tier=credits.tier,
        monthly_expire_time=timestamp(credits.monthly_expires_at),
    )


def transaction_message(transaction: Transaction) -> credits_pb2.Transaction:
    """Return the proto of a ledger transaction."""
    reservation = transaction.reservation_id
    return credits_pb2.Transaction(
        name=f"users/{transaction.user_id}/creditTransactions/{transaction.id}",
        kind=KIND[transaction.kind],
        amount=transaction.amount,
        balance_after=transaction.balance_after,
        reason=transaction.reason,
        actor=transaction.actor,
        request_id=transaction.request_id,
        job=transaction.job,
        reservation=f"reservations/{reservation}" if reservation is not None else "",
        create_time=timestamp(transaction.created_at),
    )


def reservation_message(reservation: Reservation) -> credits_pb2.Reservation:
    """Return the proto of a hold."""
    return credits_pb2.Reservation(
        name=f"reservations/{reservation.id}",
        user=f"users/{reservation.user_id}",
        amount=reservation.amount,
        captured_amount=reservation.captured_amount,
        state=STATE[reservation.state],
        job=reservation.job,
        create_time=timestamp(reservation.created_at),
        expire_time=timestamp(reservation.expires_at),
        resolve_time=timestamp(reservation.resolved_at),
    )
