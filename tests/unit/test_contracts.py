"""The contracts: every RPC declares who may call it, and the server enforces no other list."""

from __future__ import annotations

import pytest
from filmstudio.v1 import options_pb2
from google.protobuf import descriptor_pb2, descriptor_pool

from services.bootstrap import SERVICES, resolve
from services.common import access
from services.common.registry import unimplemented_servicer
from tests.support.descriptors import access_of, all_methods, contract_services, http_rule_of

EXPECTED_RPCS = {
    "filmstudio.v1.UserService": 16,
    "filmstudio.v1.ProjectService": 7,
    "filmstudio.v1.CreditsService": 10,
    "filmstudio.v1.AIJobService": 10,
    "filmstudio.v1.YouTubeService": 8,
    "filmstudio.v1.AdminService": 11,
}


def test_the_documented_services_with_every_documented_rpc() -> None:
    counts = {spec.full_name: 0 for spec in SERVICES.values()}
    for method in all_methods():
        counts[method.containing_service.full_name] += 1
    assert counts == EXPECTED_RPCS


@pytest.mark.parametrize("method", all_methods(), ids=lambda m: m.full_name)
def test_every_rpc_declares_an_access_policy(method) -> None:
    assert access_of(method) != options_pb2.ACCESS_UNSPECIFIED


@pytest.mark.parametrize("method", all_methods(), ids=lambda m: m.full_name)
def test_every_rpc_a_browser_may_call_has_a_rest_rule(method) -> None:
    rule = http_rule_of(method)
    if access_of(method) == options_pb2.ACCESS_INTERNAL:
        assert rule is None, "internal RPCs are not exposed over REST"
    else:
        assert rule is not None
        assert rule.WhichOneof("pattern") in {"get", "post", "patch", "delete", "put"}


@pytest.mark.parametrize("method", all_methods(), ids=lambda m: m.full_name)
def test_every_rpc_has_its_own_request_and_response(method) -> None:
    assert method.input_type.name == f"{method.name}Request"
    assert method.output_type.name == f"{method.name}Response"


def test_streaming_rpcs_are_watch_and_report() -> None:
    streaming = {
        m.full_name: (m.client_streaming, m.server_streaming)
        for m in all_methods()
        if m.client_streaming or m.server_streaming
    }
    assert streaming == {
        "filmstudio.v1.AIJobService.WatchJob": (False, True),
        "filmstudio.v1.AIJobService.ReportProgress": (True, False),
    }


def test_policy_table_covers_every_hosted_rpc() -> None:
    table = access.policy_table(spec.full_name for spec in SERVICES.values())
    assert len(table) == sum(EXPECTED_RPCS.values())
    assert table["/filmstudio.v1.UserService/Login"] == options_pb2.ACCESS_PUBLIC
    assert table["/filmstudio.v1.AdminService/SuspendUser"] == options_pb2.ACCESS_ADMIN


def _add_service_without_policy() -> str:
    """Register a throwaway service whose RPC has no access option."""
    name = "filmstudio.testonly.v1.NoPolicyService"
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(name)
    except KeyError:
        proto = descriptor_pb2.FileDescriptorProto(
            name="filmstudio/testonly/v1/no_policy.proto",
            package="filmstudio.testonly.v1",
            syntax="proto3",
        )
        proto.message_type.add(name="PingRequest")
        proto.message_type.add(name="PingResponse")
        service = proto.service.add(name="NoPolicyService")
        service.method.add(
            name="Ping",
            input_type=".filmstudio.testonly.v1.PingRequest",
            output_type=".filmstudio.testonly.v1.PingResponse",
        )
        pool.Add(proto)
    return name


def test_a_service_with_an_rpc_lacking_a_policy_cannot_be_hosted() -> None:
    name = _add_service_without_policy()
    with pytest.raises(access.MissingPolicyError, match=r"NoPolicyService\.Ping"):
        access.policy_table([name])


def test_every_contract_service_is_hosted_by_a_domain_of_the_root() -> None:
    assert sorted(spec.full_name for spec in resolve("all")) == contract_services()


def test_resolve_rejects_unknown_service_names() -> None:
    assert [s.key for s in resolve("user,project")] == ["user", "project"]
    with pytest.raises(ValueError, match="unknown services"):
        resolve("user,billing")


def test_unimplemented_servicer_overrides_every_rpc_with_a_coroutine() -> None:
    import inspect

    for spec in SERVICES.values():
        servicer = unimplemented_servicer(spec.servicer_base, spec.full_name)
        for method in access.service_descriptor(spec.full_name).methods:
            handler = getattr(servicer, method.name)
            assert inspect.iscoroutinefunction(handler) or inspect.isasyncgenfunction(handler)
