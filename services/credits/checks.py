"""Request checks and idempotency fingerprints shared by the credits use cases."""

from __future__ import annotations

from typing import TypeAlias, TypeVar, Union

from services.common import errors
from services.common.idempotency import fingerprint, reused_key

T = TypeVar("T")
# What a unit of work returns: its result, or a domain error to raise after it commits.
Outcome: TypeAlias = Union[T, errors.DomainError]  # noqa: UP007

MAX_AMOUNT = 10**12
MAX_KEY_LENGTH = 200
MAX_REASON_LENGTH = 500


def amount(value: int, field: str = "amount") -> int:
    """Return a positive amount of credits or raise InvalidArgument."""
    if not 0 < value <= MAX_AMOUNT:
        raise errors.InvalidArgument.field(field, f"must be between 1 and {MAX_AMOUNT}")
    return value


def key(value: str, field: str = "request_id") -> str:
    """Return a non-empty idempotency key or raise InvalidArgument."""
    if not value or len(value) > MAX_KEY_LENGTH or not value.isprintable():
        raise errors.InvalidArgument.field(
            field, f"must be a printable idempotency key of 1 to {MAX_KEY_LENGTH} characters"
        )
    return value


def reason(value: str, field: str = "reason") -> str:
    """Return a reason of at most MAX_REASON_LENGTH characters."""
    if len(value) > MAX_REASON_LENGTH:
        raise errors.InvalidArgument.field(field, f"must be at most {MAX_REASON_LENGTH} characters")
    return value


def job(value: str, field: str = "job") -> str:
    """Return "" or a job name, "jobs/{id}"."""
    if value and (not value.startswith("jobs/") or len(value) > 200 or value == "jobs/"):
        raise errors.InvalidArgument.field(field, "must look like jobs/{id}")
    return value


__all__ = ["fingerprint", "reused_key"]
