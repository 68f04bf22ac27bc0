"""Domain errors: raised by domain services, mapped to gRPC status in one place.

    DomainError                      (never raised itself)
    ├── InvalidArgument              INVALID_ARGUMENT     + BadRequest field violations
    ├── NotFound                     NOT_FOUND
    ├── AlreadyExists                ALREADY_EXISTS
    ├── FailedPrecondition           FAILED_PRECONDITION  + PreconditionFailure
    │   └── InsufficientCredits      reason INSUFFICIENT_CREDITS
    ├── Aborted                      ABORTED              (e.g. a stale etag)
    ├── PermissionDenied             PERMISSION_DENIED
    ├── Unauthenticated              UNAUTHENTICATED
    ├── ResourceExhausted            RESOURCE_EXHAUSTED   + QuotaFailure, RetryInfo
    ├── Unavailable                  UNAVAILABLE          + RetryInfo (a dependency is down)
    └── Unimplemented                UNIMPLEMENTED        (a domain whose issue has not landed)

Every error carries an AIP-193 `reason` (UPPER_SNAKE_CASE) and string `metadata`; both become a
`google.rpc.ErrorInfo` detail. This module imports nothing from grpc: the mapping lives in
`services.common.status`. Anything that is not a DomainError is a bug and becomes INTERNAL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid request field: its path (e.g. `project.title`) and what is wrong."""

    field: str
    description: str
    reason: str = ""


class DomainError(Exception):
    """The base of every error a domain service raises on purpose."""

    default_reason = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidArgument(DomainError):
    """The request is malformed; `violations` names each bad field."""

    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        violations: Iterable[FieldViolation] | FieldViolation,
        message: str | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        if isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = list(violations)
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(message or f"invalid argument: {summary}", reason=reason)

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        """Build the error for a single bad field."""
        return cls([FieldViolation(field, description)])

    @classmethod
    def require(cls, **values: str) -> None:
        """Raise one error naming every field whose value is empty."""
        missing = [
            FieldViolation(name, "is required") for name, value in values.items() if not value
        ]
        if missing:
            raise cls(missing)


class NotFound(DomainError):
    """The resource does not exist, or the caller may not know that it does."""

    default_reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    """The resource the caller tried to create exists already."""

    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(DomainError):
    """The system is not in a state that allows the operation (e.g. a status transition)."""

    default_reason = "FAILED_PRECONDITION"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        subject: str = "",
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.subject = subject


class InsufficientCredits(FailedPrecondition):
    """The user's available credits do not cover the amount."""

    default_reason = "INSUFFICIENT_CREDITS"

    def __init__(self, *, user: str, required: int, available: int) -> None:
        super().__init__(
            f"insufficient credits: {required} required, {available} available",
            metadata={"user": user, "required": str(required), "available": str(available)},
            subject=user,
        )


class Aborted(DomainError):
    """A concurrency conflict (e.g. a stale etag); the caller should re-read and retry."""

    default_reason = "ABORTED"


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    default_reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    """The caller presented no valid credentials."""

    default_reason = "UNAUTHENTICATED"


class ResourceExhausted(DomainError):
    """A limit or quota was hit; `retry_after_seconds` says when to try again."""

    default_reason = "RESOURCE_EXHAUSTED"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        subject: str = "",
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.subject = subject
        self.retry_after_seconds = retry_after_seconds


class Unavailable(DomainError):
    """A dependency is down; the call may succeed if retried later."""

    default_reason = "UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, reason=reason)
        self.retry_after_seconds = retry_after_seconds


class Unimplemented(DomainError):
    """The RPC belongs to a domain that is not built yet."""

    default_reason = "NOT_IMPLEMENTED"
