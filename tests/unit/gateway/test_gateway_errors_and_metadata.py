"""The gRPC→HTTP table is grpc-gateway's; headers and deadlines convert both ways."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from gateway.errors import GatewayError, http_status, status_from_rpc_error, status_json
from gateway.metadata import outgoing_metadata, parse_timeout, request_id_from, response_headers

# grpc-gateway v2 runtime.HTTPStatusFromCode, as docs/ANCHORS.md lists it.
GRPC_GATEWAY_TABLE = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
}


def test_every_grpc_code_maps_as_grpc_gateway_does() -> None:
    assert {code.name: http_status(code) for code in grpc.StatusCode} == GRPC_GATEWAY_TABLE


def _rpc_error(code: grpc.StatusCode, details: str, trailing=()) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailing), details)


def test_the_status_details_trailer_is_used_when_it_agrees_with_the_code() -> None:
    status = status_pb2.Status(code=5, message="gone")
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason="GONE"))
    trailer = ("grpc-status-details-bin", status.SerializeToString())
    found = status_from_rpc_error(_rpc_error(grpc.StatusCode.NOT_FOUND, "gone", [trailer]))
    assert status_json(found) == {
        "code": 5,
        "message": "gone",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE"}],
    }
    # A trailer that contradicts the status is not trusted.
    other = status_from_rpc_error(_rpc_error(grpc.StatusCode.INTERNAL, "boom", [trailer]))
    assert (other.code, other.message, list(other.details)) == (13, "boom", [])


def test_unknown_detail_types_still_reach_the_client() -> None:
    status = status_pb2.Status(code=3)
    detail = status.details.add()
    detail.type_url, detail.value = "type.googleapis.com/acme.Unknown", b"\x01"
    assert status_json(status)["details"] == [
        {"@type": "type.googleapis.com/acme.Unknown", "value": "AQ=="}
    ]


@pytest.mark.parametrize(
    ("text", "seconds"), [("1H", 3600), ("2M", 120), ("5S", 5), ("250m", 0.25), ("10u", 1e-5)]
)
def test_grpc_timeouts_parse(text: str, seconds: float) -> None:
    assert parse_timeout(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "S", "1.5S", "123456789S", "5s"])
def test_bad_grpc_timeouts_are_400(text: str) -> None:
    with pytest.raises(GatewayError) as error:
        parse_timeout(text)
    assert error.value.http == 400


def test_outgoing_metadata_keeps_only_what_should_cross() -> None:
    headers = [
        (b"authorization", b"Bearer t"),
        (b"grpc-metadata-tenant", b"acme"),
        (b"grpc-metadata-blob-bin", b"AAE"),
        (b"cookie", b"secret"),
        (b"user-agent", b"curl/8"),
    ]
    assert outgoing_metadata(headers, "rid", "10.0.0.1") == [
        ("x-request-id", "rid"),
        ("tenant", "acme"),
        ("blob-bin", b"\x00\x01"),
        ("grpcgateway-user-agent", "curl/8"),
        ("authorization", "Bearer t"),
        ("x-forwarded-for", "10.0.0.1"),
    ]
    # A header wins over the access_token query parameter.
    with_token = outgoing_metadata(headers[:1], "rid", None, access_token="other")
    assert ("authorization", "Bearer t") in with_token


def test_response_metadata_becomes_prefixed_headers() -> None:
    headers = response_headers(
        [("x-request-id", "r"), ("blob-bin", b"\x00"), ("grpc-encoding", "gzip")],
        [("cost", "3"), ("grpc-status-details-bin", b"x")],
    )
    assert headers == [
        (b"grpc-metadata-x-request-id", b"r"),
        (b"grpc-metadata-blob-bin", b"AA=="),
        (b"grpc-trailer-cost", b"3"),
    ]


def test_request_ids_are_kept_when_sane() -> None:
    assert request_id_from("abc-123") == "abc-123"
    assert len(request_id_from("bad id\n")) == 32
    assert len(request_id_from(None)) == 32
