"""GETs the lane answers from the HTTP/1 protocol itself (gateway/http1.py), with no task.

Once a connection to the backend is open, a GET's call goes out from the protocol's callback
and its answer is written from the stream's: these tests check that this path is taken, and
that what HTTP/1 asks of a server still holds on it (pipelining, Connection: close, HTTP/1.0,
deadlines, draining), with the same answers as the full stack's.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import h11
import httpx
import pytest

from gateway import lane as lane_module
from gateway.h2c import frames
from gateway.h2c.channel import H2cChannel
from gateway.h2c.streams import StreamReset
from gateway.lane import DirectLane
from gateway.server import GatewayServer
from tests.support.gateway_harness import running_gateway

SHELF = b'{"name":"shelves/s1","theme":"science fiction","bookCount":"1099511627776"}'


@dataclasses.dataclass
class Lane:
    """A gateway with the lane and h2c (CORS off: plain answers go out as they are)."""

    port: int
    client: httpx.AsyncClient
    full: httpx.AsyncClient  # the same gateway without the lane


@pytest.fixture
async def lane(live) -> AsyncIterator[Lane]:
    config = dataclasses.replace(
        live.server.gateway.config, cors_origins=(), upstream_client="h2c", direct_lane=True
    )
    async with (
        running_gateway(config) as server,
        running_gateway(dataclasses.replace(config, direct_lane=False)) as without,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{without.port}", timeout=10) as full,
    ):
        await client.get("/v1/shelves/s1")  # opens the connection to the backend
        yield Lane(server.port, client, full)


@pytest.fixture
def coroutine_runs(monkeypatch) -> list[str]:
    """Record each request the lane's coroutine serves (none, when the protocol answers)."""
    runs: list[str] = []
    coroutine = DirectLane.__call__

    async def counted(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        runs.append(scope["path"])
        await coroutine(self, scope, receive, send)

    monkeypatch.setattr(DirectLane, "__call__", counted)
    return runs


def _expect_a_get(connection: h11.Connection) -> None:
    """Put h11's client state where the raw bytes put the server: one GET sent, whole."""
    connection.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    connection.send(h11.EndOfMessage())


async def _raw(port: int, data: bytes, answers: int) -> tuple[list[h11.Response], list[bytes]]:
    """Send raw bytes (GETs); read `answers` responses and their bodies."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    connection = h11.Connection(h11.CLIENT)
    _expect_a_get(connection)
    responses: list[h11.Response] = []
    bodies: list[bytes] = []
    ended = 0
    try:
        while ended < answers:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await asyncio.wait_for(reader.read(65536), 5))
            elif isinstance(event, h11.Response):
                responses.append(event)
                bodies.append(b"")
            elif isinstance(event, h11.Data):
                bodies[-1] += event.data
            elif isinstance(event, h11.EndOfMessage):
                ended += 1
                if ended < answers:
                    connection.start_next_cycle()
                    _expect_a_get(connection)
    finally:
        writer.close()
    return responses, bodies


async def test_gets_are_answered_from_the_protocol_once_a_connection_is_open(
    lane, coroutine_runs
) -> None:
    for _ in range(3):
        ok = await lane.client.get("/v1/shelves/s1", headers={"x-request-id": "from-protocol"})
        assert ok.status_code == 200
        assert ok.content == SHELF
        assert ok.headers["x-request-id"] == "from-protocol"
    # A failed call and an answer to compress go out from the protocol too, then are answered
    # by a coroutine, as the full stack would answer them.
    missing = await lane.client.get("/v1/shelves/missing")
    assert missing.status_code == 404
    assert missing.json() == (await lane.full.get("/v1/shelves/missing")).json()
    long = "lanes " * 100
    zipped = await lane.client.get(f"/v1/echo?text={long}", headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == (await lane.full.get(f"/v1/echo?text={long}")).json()
    assert coroutine_runs == []


async def test_what_the_protocol_cannot_send_at_once_runs_the_coroutine(
    lane, coroutine_runs
) -> None:
    refused = await lane.client.get("/v1/echo?number=seven")  # a 400 before any call
    assert refused.status_code == 400
    assert refused.json() == (await lane.full.get("/v1/echo?number=seven")).json()
    body = await lane.client.request("GET", "/v1/shelves/s1", content=b"{}")  # a GET with a body
    assert body.status_code == 200
    assert coroutine_runs == ["/v1/echo", "/v1/shelves/s1"]


async def test_a_gets_call_is_kept_by_its_path_and_query(lane, monkeypatch, coroutine_runs) -> None:
    routed: list[str] = []
    route = DirectLane._unary_binding

    def counted(self, scope):  # type: ignore[no-untyped-def]
        routed.append(scope["path"])
        return route(self, scope)

    monkeypatch.setattr(DirectLane, "_unary_binding", counted)
    first = await lane.client.get("/v1/shelves/s2", headers={"x-request-id": "kept-1"})
    again = await lane.client.get("/v1/shelves/s2", headers={"x-request-id": "kept-2"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.content == again.content == (await lane.full.get("/v1/shelves/s2")).content
    assert again.headers["x-request-id"] == "kept-2"
    assert routed == ["/v1/shelves/s2"]  # the second went out as kept, past the routing
    # The query is part of the key: another text is another call, and its own answer.
    hello = await lane.client.get("/v1/echo?text=hello")
    bye = await lane.client.get("/v1/echo?text=bye")
    assert hello.json() == (await lane.full.get("/v1/echo?text=hello")).json()
    assert bye.json() == (await lane.full.get("/v1/echo?text=bye")).json()
    assert hello.json() != bye.json()
    # What does not build is never kept: each time, the coroutine answers the 400.
    for _ in range(2):
        refused = await lane.client.get("/v1/echo?number=seven")
        assert refused.status_code == 400
    assert coroutine_runs == ["/v1/echo", "/v1/echo"]


def test_the_kept_calls_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(lane_module, "_KEPT_CALLS", 2)
    kept = DirectLane.__new__(DirectLane)
    kept._calls = {}
    binding = object()
    for n in range(3):
        kept._keep_call((f"/v1/shelves/{n}".encode(), b""), binding, b"request")  # type: ignore[arg-type]
    assert list(kept._calls) == [(b"/v1/shelves/2", b"")]  # full: emptied, then kept
    kept._keep_call((b"/v1/" + b"x" * 600, b""), binding, b"request")  # type: ignore[arg-type]
    assert len(kept._calls) == 1  # a key that long is built each time


async def test_pipelined_gets_are_answered_in_order(lane) -> None:
    requests = b"".join(
        f"GET /v1/shelves/{name} HTTP/1.1\r\nhost: x\r\nx-request-id: r-{name}\r\n\r\n".encode()
        for name in ("s1", "slow", "missing", "s1")
    )
    responses, bodies = await _raw(lane.port, requests, 4)
    assert [r.status_code for r in responses] == [200, 200, 404, 200]
    ids = [dict(r.headers)[b"x-request-id"] for r in responses]
    assert ids == [b"r-s1", b"r-slow", b"r-missing", b"r-s1"]
    assert bodies[0] == bodies[3] == SHELF
    assert b"shelves/slow" in bodies[1]


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /v1/shelves/s1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        b"GET /v1/shelves/s1 HTTP/1.0\r\nhost: x\r\n\r\n",
    ],
    ids=["connection-close", "http-1.0"],
)
async def test_an_answer_without_keep_alive_closes_the_connection(lane, request_line) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", lane.port)
    writer.write(request_line)
    answer = await asyncio.wait_for(reader.read(), 5)  # to EOF: the server closed it
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200"))
    assert b"\r\nconnection: close" in head
    assert body == SHELF


async def test_a_deadline_on_the_protocol_path_is_the_full_stacks_504(lane) -> None:
    headers = {"grpc-timeout": "50m"}
    late = await lane.client.get("/v1/shelves/slow", headers=headers)
    assert late.status_code == 504
    assert late.json() == (await lane.full.get("/v1/shelves/slow", headers=headers)).json()


async def test_a_call_the_server_never_saw_is_sent_again(lane, monkeypatch, coroutine_runs) -> None:
    # A GOAWAY or REFUSED_STREAM racing a call cannot be timed from here: the first answer
    # read on the protocol path is made such a reset, as the connection would report it.
    finish = H2cChannel.finish
    resets: list[int] = []

    def refused_once(self, started):  # type: ignore[no-untyped-def]
        if not resets:
            resets.append(1)
            raise StreamReset(frames.REFUSED_STREAM, "refused", unprocessed=True)
        return finish(self, started)

    monkeypatch.setattr(H2cChannel, "finish", refused_once)
    again = await lane.client.get("/v1/shelves/s1")
    assert again.status_code == 200
    assert again.content == SHELF
    assert resets == [1]
    assert coroutine_runs == ["/v1/shelves/s1"]  # sent again, awaited


async def test_draining_waits_for_an_answer_the_protocol_owes(live) -> None:
    config = dataclasses.replace(live.server.gateway.config, upstream_client="h2c")
    async with (
        running_gateway(config) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
    ):
        await client.get("/v1/shelves/s1")
        slow = asyncio.create_task(client.get("/v1/shelves/slow"))
        await asyncio.sleep(0.1)
        await server.stop()
        answer = await slow
    assert answer.status_code == 200
    assert answer.headers["connection"] == "close"


async def test_an_idle_connection_closes_after_the_keep_alive_timeout_and_a_busy_one_stays(
    live,
) -> None:
    server = GatewayServer(live.server.gateway.config, host="127.0.0.1", port=0, grace_seconds=1)
    server._server.config.timeout_keep_alive = 1  # uvicorn's 5 s, shortened for the test
    port = await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        ask = b"GET /v1/shelves/s1 HTTP/1.1\r\nhost: x\r\n\r\n"
        began = asyncio.get_running_loop().time()
        # Busy for longer than the timeout, an answer every 0.3 s: the connection stays.
        for _ in range(5):
            writer.write(ask)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            last = asyncio.get_running_loop().time()
            await asyncio.sleep(0.3)
        # Then idle: closed about a timeout after the last answer, not before.
        assert await asyncio.wait_for(reader.read(), 5) == b""
        closed = asyncio.get_running_loop().time()
        writer.close()
        assert closed - began > 1.5
        assert 0.9 <= closed - last <= 2.5
    finally:
        await server.stop()


async def test_a_bug_before_the_stream_opens_is_a_json_internal_and_the_connection_lives(
    lane, monkeypatch, caplog
) -> None:
    def broken(*args: object) -> bytes:
        raise RuntimeError("a bug while encoding the call")

    monkeypatch.setattr(H2cChannel, "_block", broken)
    failed = await lane.client.get("/v1/shelves/s1", headers={"x-request-id": "encoding-bug"})
    assert failed.status_code == 500
    assert failed.json()["code"] == 13
    assert "(request id encoding-bug)" in caplog.text
    monkeypatch.undo()
    again = await lane.client.get("/v1/shelves/s1")  # the same keep-alive connection
    assert again.status_code == 200
    assert again.content == SHELF
