"""The one mapping from domain errors to gRPC status codes with google.rpc details."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.common import errors

ERROR_DOMAIN = "filmstudio.v1"
INTERNAL_MESSAGE = "internal error; the request id identifies it in the server logs"

_CODES: tuple[tuple[type[errors.DomainError], grpc.StatusCode], ...] = (
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Aborted, grpc.StatusCode.ABORTED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.Unimplemented, grpc.StatusCode.UNIMPLEMENTED),
)


def grpc_code_for(error: errors.DomainError) -> grpc.StatusCode:
    """Return the gRPC code of a domain error (subclasses first, by MRO)."""
    for cls in type(error).__mro__:
        for known, code in _CODES:
            if cls is known:
                return code
    return grpc.StatusCode.UNKNOWN


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def _retry_info(seconds: float | None) -> list[any_pb2.Any]:
    if seconds is None:
        return []
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(int(seconds * 1e9))
    return [_pack(error_details_pb2.RetryInfo(retry_delay=delay))]


def _details(error: errors.DomainError) -> list[any_pb2.Any]:
    details = [
        _pack(
            error_details_pb2.ErrorInfo(
                reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
            )
        )
    ]
    if isinstance(error, errors.InvalidArgument):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description, reason=v.reason
                )
                for v in error.violations
            ]
        )
        details.append(_pack(bad_request))
    elif isinstance(error, errors.FailedPrecondition):
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=error.reason, subject=error.subject, description=error.message
                )
            ]
        )
        details.append(_pack(failure))
    elif isinstance(error, errors.ResourceExhausted):
        quota = error_details_pb2.QuotaFailure(
            violations=[
                error_details_pb2.QuotaFailure.Violation(
                    subject=error.subject, description=error.message
                )
            ]
        )
        details.append(_pack(quota))
        details.extend(_retry_info(error.retry_after_seconds))
    elif isinstance(error, errors.Unavailable):
        details.extend(_retry_info(error.retry_after_seconds))
    return details


def to_rpc_status(error: errors.DomainError) -> status_pb2.Status:
    """Build the google.rpc.Status for a domain error."""
    code = grpc_code_for(error)
    return status_pb2.Status(code=code.value[0], message=error.message, details=_details(error))


def internal_status() -> status_pb2.Status:
    """Build the generic INTERNAL status that hides an unexpected exception."""
    return status_pb2.Status(code=code_pb2.INTERNAL, message=INTERNAL_MESSAGE)


def domain_error_from_rpc(error: grpc.aio.AioRpcError) -> errors.DomainError:
    """Rebuild the domain error another service answered with, keeping its reason and metadata."""
    from grpc_status import rpc_status

    reason, metadata = "", {}
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            reason, metadata = info.reason, dict(info.metadata)
    message = error.details() or error.code().name
    for cls, code in _CODES:
        if code == error.code() and cls is not errors.InvalidArgument:
            if cls is errors.FailedPrecondition and reason == "INSUFFICIENT_CREDITS":
                return errors.InsufficientCredits(
                    user=metadata.get("user", ""),
                    required=int(metadata.get("required", 0) or 0),
                    available=int(metadata.get("available", 0) or 0),
                )
            if cls in (errors.Unavailable, errors.ResourceExhausted):
                return cls(message, reason=reason or None)
            return cls(message, reason=reason or None, metadata=metadata)
    if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
        return errors.InvalidArgument.field("upstream", message)
    return errors.Unavailable(f"upstream call failed: {message}", reason=reason or None)
