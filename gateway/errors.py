"""The one gRPC→HTTP status table (grpc-gateway's) and google.rpc.Status JSON bodies."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import any_pb2, descriptor_pool, json_format
from google.rpc import error_details_pb2, status_pb2

log = logging.getLogger(__name__)

STATUS_DETAILS_KEY = "grpc-status-details-bin"

# grpc-gateway v2 runtime.HTTPStatusFromCode.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}

_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def status_code(number: int) -> grpc.StatusCode:
    """Return the gRPC code for its number (UNKNOWN for numbers gRPC does not define)."""
    return _BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN)


def http_status(code: grpc.StatusCode) -> int:
    """Return the HTTP status grpc-gateway gives a gRPC code."""
    return HTTP_STATUS.get(code, 500)


class GatewayError(Exception):
    """A request the gateway answers itself, as a google.rpc.Status with an HTTP status."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        http: int | None = None,
        details: Sequence[Any] = (),
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = make_status(code, message, details)
        self.http = http if http is not None else http_status(code)
        self.headers = list(headers)


def bad_request(field: str, description: str, reason: str = "INVALID_FIELD") -> GatewayError:
    """Return a 400 INVALID_ARGUMENT naming the offending field."""
    violation = error_details_pb2.BadRequest.FieldViolation(
        field=field, description=description, reason=reason
    )
    message = f"invalid {field}: {description}" if field else description
    return GatewayError(
        grpc.StatusCode.INVALID_ARGUMENT,
        message,
        details=[error_details_pb2.BadRequest(field_violations=[violation])],
    )


def make_status(
    code: grpc.StatusCode, message: str, details: Sequence[Any] = ()
) -> status_pb2.Status:
    """Build a google.rpc.Status, packing each detail message into an Any."""
    status = status_pb2.Status(code=code.value[0], message=message)
    for detail in details:
        status.details.add().Pack(detail)
    return status


def status_from_rpc_error(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """Return the call's google.rpc.Status, from its details trailer when it carries one."""
    code = error.code()
    trailing: Any = error.trailing_metadata() or ()
    for key, value in trailing:
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                status = status_pb2.Status.FromString(value)
            except Exception:  # a corrupt trailer must not hide the error
                log.warning("unreadable %s trailer", STATUS_DETAILS_KEY)
                break
            # The trailer is authoritative only when it agrees with the call's status.
            if status.code == code.value[0]:
                return status
            break
    return status_pb2.Status(code=code.value[0], message=error.details() or "")


def _any_to_json(detail: any_pb2.Any, pool: descriptor_pool.DescriptorPool | None) -> Any:
    # The service's own pool first (it may define custom details), then google.rpc's.
    for candidate in dict.fromkeys([pool, None]):
        try:
            return json_format.MessageToDict(detail, descriptor_pool=candidate)
        except (TypeError, KeyError, json_format.Error):
            continue
    # A detail type this gateway does not know still reaches the client, opaquely.
    return {"@type": detail.type_url, "value": base64.b64encode(detail.value).decode()}


def status_json(
    status: status_pb2.Status, pool: descriptor_pool.DescriptorPool | None = None
) -> dict[str, Any]:
    """Render a google.rpc.Status as grpc-gateway does: code, message, details."""
    return {
        "code": status.code,
        "message": status.message,
        "details": [_any_to_json(detail, pool) for detail in status.details],
    }


def status_body(
    status: status_pb2.Status, pool: descriptor_pool.DescriptorPool | None = None
) -> bytes:
    """Return the JSON bytes of a google.rpc.Status."""
    return json.dumps(status_json(status, pool), separators=(",", ":")).encode()
