"""Descriptors from the backend itself, by gRPC server reflection (grpc.reflection.v1alpha).

grpc-gateway compiles its routes in; a gateway in front of any backend can instead ask the
backend which services it has and for the files that define them, as grpcurl does.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

log = logging.getLogger(__name__)

# Services every reflecting server has that a REST gateway has no use for.
_PLUMBING = ("grpc.reflection.", "grpc.health.")
_METHOD = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


class ReflectionError(RuntimeError):
    """The backend did not answer server reflection (down, or reflection not enabled)."""


class _Session:
    """One ServerReflectionInfo stream: a question, an answer, in turn."""

    def __init__(self, call: grpc.aio.StreamStreamCall[Any, Any]) -> None:
        self.call = call

    async def ask(self, **question: str) -> reflection_pb2.ServerReflectionResponse:
        await self.call.write(reflection_pb2.ServerReflectionRequest(**question))
        answer = await self.call.read()
        if not isinstance(answer, reflection_pb2.ServerReflectionResponse):
            raise ReflectionError("the backend ended the reflection stream")
        return _checked(answer, question)


def _checked(
    answer: reflection_pb2.ServerReflectionResponse, question: dict[str, str]
) -> reflection_pb2.ServerReflectionResponse:
    """Return an answer, or raise ReflectionError if it is the server's error response."""
    if answer.HasField("error_response"):
        error = answer.error_response
        raise ReflectionError(f"reflection of {question}: {error.error_message}")
    return answer


async def reflect(target: str, timeout_s: float = 30.0) -> descriptor_pb2.FileDescriptorSet:
    """Return a FileDescriptorSet of the backend's services and all their imports.

    Waits up to `timeout_s` for the backend to come up (a gateway may start before it).
    """
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    try:
        async with grpc.aio.insecure_channel(target) as channel:
            # The first question goes as a unary call: a server without reflection ends a
            # stream at once, and a write racing that end can fail INTERNAL instead of
            # UNIMPLEMENTED (grpc/grpc#36066); a unary call sends its message with its start.
            first = channel.unary_unary(
                _METHOD,
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )
            listed = _checked(
                await first(
                    reflection_pb2.ServerReflectionRequest(list_services=""),
                    timeout=timeout_s,
                    wait_for_ready=True,
                ),
                {"list_services": ""},
            )
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            call = stub.ServerReflectionInfo(timeout=timeout_s, wait_for_ready=True)
            session = _Session(call)
            names = [
                s.name
                for s in listed.list_services_response.service
                if not s.name.startswith(_PLUMBING)
            ]
            for name in names:
                _keep(files, await session.ask(file_containing_symbol=name))
            # Servers answer with a file and its imports; ask for any import left out.
            missing = _missing(files)
            while missing:
                for name in missing:
                    _keep(files, await session.ask(file_by_filename=name))
                missing = _missing(files)
            await call.done_writing()
    except grpc.aio.AioRpcError as error:
        raise ReflectionError(
            f"server reflection on {target} failed: {error.code().name}: {error.details()}"
        ) from None
    log.info("descriptors read by server reflection", extra={"backend": target, "services": names})
    return descriptor_pb2.FileDescriptorSet(file=_ordered(files))


def _keep(
    files: dict[str, descriptor_pb2.FileDescriptorProto],
    answer: reflection_pb2.ServerReflectionResponse,
) -> None:
    for raw in answer.file_descriptor_response.file_descriptor_proto:
        file = descriptor_pb2.FileDescriptorProto.FromString(raw)
        files.setdefault(file.name, file)


def _missing(files: dict[str, descriptor_pb2.FileDescriptorProto]) -> list[str]:
    return sorted({d for f in files.values() for d in f.dependency if d not in files})


def _ordered(
    files: dict[str, descriptor_pb2.FileDescriptorProto],
) -> list[descriptor_pb2.FileDescriptorProto]:
    """Return the files with every import before the files that import it."""
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for dependency in files[name].dependency:
            visit(dependency)
        ordered.append(files[name])

    for name in sorted(files):
        visit(name)
    return ordered
