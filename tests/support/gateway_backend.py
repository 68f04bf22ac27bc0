"""A grpc.aio backend for the gateway tests: the gatewaytest.v1 services, really implemented.

The test proto lives in tests/protos/gatewaytest/v1/gatewaytest.proto; its generated code in
tests/gen is committed. Regenerate it from the repository root with:

    .venv/bin/python -m grpc_tools.protoc -I tests/protos -I protos \
        --python_out=tests/gen --pyi_out=tests/gen --grpc_python_out=tests/gen \
        tests/protos/gatewaytest/v1/gatewaytest.proto

(tests/unit/gateway/test_gateway_generated.py fails when the committed code is stale.)
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.api import httpbody_pb2
from google.protobuf import duration_pb2, empty_pb2, struct_pb2, timestamp_pb2, wrappers_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection as grpc_reflection
from grpc_status import rpc_status

ROOT = Path(__file__).resolve().parents[2]
TEST_GEN = ROOT / "tests" / "gen"
TEST_PROTOS = ROOT / "tests" / "protos"
if str(TEST_GEN) not in sys.path:
    # The generated modules import each other as `gatewaytest.v1...`, so tests/gen is a root.
    sys.path.insert(0, str(TEST_GEN))

from gatewaytest.v1 import gatewaytest_pb2 as pb  # noqa: E402
from gatewaytest.v1 import gatewaytest_pb2_grpc as pb_grpc  # noqa: E402

SHELF_SERVICE = "gatewaytest.v1.ShelfService"
# A stream nobody stops ends by itself after this long. It must outlast a slow machine's path
# from a client leaving to the call's cancellation: at 3 s, a stream ended on its own under CPU
# load first, and the tests waiting for that cancellation failed.
MAX_STREAM_SECONDS = 10.0
CLIENT_ERRORS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.CANCELLED,
    }
)
_METADATA_KEY = re.compile(r"^[0-9a-z_.-]{1,64}$")
_METADATA_VALUE = re.compile(r"^[\x20-\x7e]*$")
PROBE_SERVICE = "gatewaytest.v1.ProbeService"


def sample_book(name: str) -> pb.Book:
    """Return a book with a value in every kind of field."""
    book = pb.Book(
        name=name,
        title="Dune",
        genre=pb.GENRE_FICTION,
        tags=["sand", "spice"],
        labels={"shelf": "a1"},
        author=pb.Author(
            display_name="Frank Herbert",
            birth_year=1920,
            address=pb.Author.Address(city="Tacoma", country="US"),
        ),
        publish_time=timestamp_pb2.Timestamp(seconds=-139_190_400),
        read_time=duration_pb2.Duration(seconds=36_000, nanos=500_000_000),
        page_count=wrappers_pb2.Int32Value(value=412),
        isbn=9780441013593,
        rating=4.25,
        cover=b"\x89PNG",
        in_stock=True,
        chapters=[pb.Chapter(title="Book One", pages=200)],
        copies={1: 3, 2: 18446744073709551615},
        weight=0.5,
        other_genres=[pb.GENRE_POETRY],
        subtitle=wrappers_pb2.StringValue(value="Book One"),
        edition=1,
    )
    book.metadata.update({"awards": ["Hugo", "Nebula"], "year": 1965})
    return book


SLOW_SHELF_SECONDS = 0.5


@dataclass
class Calls:
    """What the backend saw: the last request per RPC and the streams cancelled."""

    requests: dict[str, Any] = field(default_factory=dict)
    # Under fuzzing, nothing a generated request asks for may fail with a 5xx or take long.
    fuzzing: bool = False
    cancelled: list[str] = field(default_factory=list)
    # Every client-streaming Collect call's messages so far, in the order the calls started.
    collects: list[list[Any]] = field(default_factory=list)
    stream_cancelled: asyncio.Event = field(default_factory=asyncio.Event)


class Shelves(pb_grpc.ShelfServiceServicer):
    """The shelf service: answers from its requests, streams numbered events."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def GetShelf(self, request: Any, context: Any) -> Any:
        if request.name == "shelves/missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such shelf")
        if request.name == "shelves/slow":  # for deadlines and draining
            await asyncio.sleep(0 if self.calls.fuzzing else SLOW_SHELF_SECONDS)
        shelf = pb.Shelf(name=request.name, theme="science fiction", book_count=2**40)
        return pb.GetShelfResponse(shelf=shelf, etag="secret-etag")

    async def GetBook(self, request: Any, context: Any) -> Any:
        self.calls.requests["GetBook"] = request
        return sample_book(request.name)

    async def ListBooks(self, request: Any, context: Any) -> Any:
        self.calls.requests["ListBooks"] = request
        book = sample_book(f"{request.parent}/books/1")
        return pb.ListBooksResponse(books=[book], next_page_token="next", request=request)

    async def CreateBook(self, request: Any, context: Any) -> Any:
        self.calls.requests["CreateBook"] = request
        book = pb.Book()
        book.CopyFrom(request.book)
        book.name = f"{request.parent}/books/{request.book_id or 'generated'}"
        return book

    async def UpdateBook(self, request: Any, context: Any) -> Any:
        self.calls.requests["UpdateBook"] = request
        return request.book

    async def DeleteBook(self, request: Any, context: Any) -> Any:
        self.calls.requests["DeleteBook"] = request
        return empty_pb2.Empty()

    async def WatchShelf(self, request: Any, context: Any) -> AsyncIterator[Any]:
        self.calls.requests["WatchShelf"] = request
        try:
            code = self._code(request.fail_code)
            if request.fail_first and code is not None:
                await context.abort(code, "refused at once")
            start = _int(request.after_event_id) + 1
            pause = self._pause(request.interval)
            began = asyncio.get_running_loop().time()
            for number in range(start, request.count + 1):
                limit = 0.1 if self.calls.fuzzing else MAX_STREAM_SECONDS
                if asyncio.get_running_loop().time() - began > limit:
                    break
                await asyncio.sleep(pause)
                event = pb.ShelfEvent(id=str(number), shelf=request.name)
                event.event_time.FromSeconds(1_700_000_000 + number)
                yield pb.WatchShelfResponse(event=event)
            if code is not None:
                await context.abort(code, "stream failed")
        except asyncio.CancelledError:
            self.calls.cancelled.append(request.name)
            self.calls.stream_cancelled.set()
            raise

    def _pause(self, interval: Any) -> float:
        seconds = max(interval.seconds + interval.nanos / 1e9, 0.0)
        return min(seconds, 0.01 if self.calls.fuzzing else 1.0)

    def _code(self, number: int) -> grpc.StatusCode | None:
        code = next((c for c in grpc.StatusCode if c.value[0] == number), None)
        if code is None or code is grpc.StatusCode.OK:
            return None
        if self.calls.fuzzing and code not in CLIENT_ERRORS:
            return grpc.StatusCode.FAILED_PRECONDITION
        return code

    async def Chat(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        async for message in request_iterator:
            yield pb.ChatMessage(text=message.text.upper())

    async def Compact(self, request: Any, context: Any) -> Any:
        return pb.CompactResponse()


def _int(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 10 else 0


class Probes(pb_grpc.ProbeServiceServicer):
    """Echo, fail, inspect and sleep on request."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def Echo(self, request: Any, context: Any) -> Any:
        self.calls.requests["Echo"] = request
        return pb.EchoResponse(request=request, book=request.book)

    async def Fail(self, request: Any, context: Any) -> Any:
        code = next((c for c in grpc.StatusCode if c.value[0] == request.code), None)
        if code in (None, grpc.StatusCode.OK) or (self.calls.fuzzing and code not in CLIENT_ERRORS):
            request.code = grpc.StatusCode.FAILED_PRECONDITION.value[0]
        details = [error_details_pb2.ErrorInfo(reason="TEST_FAILURE", domain="gatewaytest.v1")]
        if request.field:
            violation = error_details_pb2.BadRequest.FieldViolation(
                field=request.field, description="is wrong"
            )
            details.append(error_details_pb2.BadRequest(field_violations=[violation]))
        if request.code == code_pb2.RESOURCE_EXHAUSTED:
            delay = duration_pb2.Duration(seconds=2, nanos=500_000_000)
            details.append(error_details_pb2.RetryInfo(retry_delay=delay))
        status = status_pb2.Status(code=request.code, message=request.message)
        for detail in details:
            status.details.add().Pack(detail)
        converted = rpc_status.to_status(status)
        await context.abort(converted.code, converted.details, converted.trailing_metadata)

    async def Inspect(self, request: Any, context: Any) -> Any:
        seen = {
            key: value if isinstance(value, str) else value.hex()
            for key, value in context.invocation_metadata()
            if not key.startswith((":", "grpc-"))
        }
        await context.send_initial_metadata(_valid(request.reply_headers))
        context.set_trailing_metadata(_valid(request.reply_trailers))
        response = pb.InspectResponse(metadata=seen)
        remaining = context.time_remaining()
        if remaining is not None:
            response.time_remaining.FromMilliseconds(int(remaining * 1000))
        return response

    async def Bind(self, request: Any, context: Any) -> Any:
        self.calls.requests["Bind"] = request
        if any(genre not in pb.Genre.values() for genre in request.genres):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unknown genre")
        return request

    async def Collect(self, request_iterator: Any, context: Any) -> Any:
        response = pb.CollectResponse()
        seen: list[Any] = []  # as each message arrives
        self.calls.collects.append(seen)
        async for message in request_iterator:
            seen.append(message)
            response.total += message.number
            response.count += 1
            if message.label:
                response.labels.append(message.label)
        return response

    async def Download(self, request: Any, context: Any) -> Any:
        context.set_trailing_metadata(_valid({"x-served": request.name}))
        data = f"raw {request.name}\n".encode()
        return httpbody_pb2.HttpBody(content_type=request.content_type, data=data)

    async def DownloadStream(self, request: Any, context: Any) -> AsyncIterator[Any]:
        for number in range(request.parts):
            data = f"{request.name} part {number}\n".encode()
            yield httpbody_pb2.HttpBody(content_type=request.content_type, data=data)

    async def Shout(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        async for message in request_iterator:
            yield pb.ChatMessage(text=message.text.upper())

    async def Sleep(self, request: Any, context: Any) -> Any:
        seconds = max(request.duration.seconds + request.duration.nanos / 1e9, 0.0)
        await asyncio.sleep(min(seconds, 0.01 if self.calls.fuzzing else 2.0))
        return empty_pb2.Empty()


def _valid(pairs: Any) -> tuple[tuple[str, str], ...]:
    """Keep the metadata gRPC can send (the reserved and malformed are dropped)."""
    return tuple(
        (key, value)
        for key, value in pairs.items()
        if _METADATA_KEY.match(key)
        and not key.startswith("grpc-")
        and not key.endswith("-bin")
        and _METADATA_VALUE.match(value)
    )


@dataclass
class Backend:
    """A running test backend."""

    address: str
    calls: Calls
    health: HealthServicer


@asynccontextmanager
async def running_backend(
    *, fuzzing: bool = False, reflection: bool = False
) -> AsyncIterator[Backend]:
    """Serve both test services with health (and server reflection if asked) on a free port."""
    calls = Calls(fuzzing=fuzzing)
    server = grpc.aio.server()
    pb_grpc.add_ShelfServiceServicer_to_server(Shelves(calls), server)
    pb_grpc.add_ProbeServiceServicer_to_server(Probes(calls), server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    if reflection:
        names = (SHELF_SERVICE, PROBE_SERVICE, grpc_reflection.SERVICE_NAME)
        grpc_reflection.enable_server_reflection(names, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    for name in ("", SHELF_SERVICE, PROBE_SERVICE):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    try:
        yield Backend(f"127.0.0.1:{port}", calls, health)
    finally:
        await server.stop(grace=0.5)


__all__ = ["Backend", "Calls", "pb", "pb_grpc", "running_backend", "sample_book", "struct_pb2"]
