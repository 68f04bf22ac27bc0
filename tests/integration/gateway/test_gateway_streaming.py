"""Server streaming as NDJSON, Server-Sent Events (with resume) and WebSocket."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.support.gateway_backend import running_backend
from tests.support.gateway_harness import gateway_test_config, running_gateway


def _sse_events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            fields[name] = value
        if fields:
            events.append(fields)
    return events


async def test_ndjson_stream_has_one_result_per_line(live) -> None:
    response = await live.client.get("/v1/shelves/s1:watch", params={"count": 3})
    assert response.status_code == 200
    # grpc-gateway sends its JSON marshaler's content type on streams, one object a line.
    assert response.headers["content-type"] == "application/json"
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    assert [line["result"]["event"]["id"] for line in lines] == ["1", "2", "3"]
    assert lines[0]["result"]["event"]["eventTime"] == "2023-11-14T22:13:21Z"


async def test_a_failure_mid_stream_is_an_error_line(live) -> None:
    response = await live.client.get("/v1/shelves/s1:watch", params={"count": 2, "failCode": 9})
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    assert [list(line) for line in lines] == [["result"], ["result"], ["error"]]
    assert lines[-1]["error"]["code"] == 9
    assert lines[-1]["error"]["message"] == "stream failed"


async def test_a_failure_before_the_first_message_keeps_its_http_status(live) -> None:
    params = {"count": 2, "failCode": 7, "failFirst": "true"}
    response = await live.client.get("/v1/shelves/s1:watch", params=params)
    assert response.status_code == 403
    assert response.json()["code"] == 7
    sse = await live.client.get(
        "/v1/shelves/s1:watch", params=params, headers={"Accept": "text/event-stream"}
    )
    assert sse.status_code == 403


async def test_sse_carries_event_ids_and_an_end_event(live) -> None:
    response = await live.client.get(
        "/v1/shelves/s1:watch", params={"count": 2}, headers={"Accept": "text/event-stream"}
    )
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    events = _sse_events(response.text)
    assert events[0] == {"retry": "2000"}
    assert [e["id"] for e in events[1:3]] == ["1", "2"]
    assert json.loads(events[1]["data"])["event"]["shelf"] == "shelves/s1"
    assert events[-1] == {"event": "end", "data": "{}"}


async def test_sse_resumes_after_last_event_id(live) -> None:
    response = await live.client.get(
        "/v1/shelves/s1:watch",
        params={"count": 5},
        headers={"Accept": "text/event-stream", "Last-Event-ID": "3"},
    )
    ids = [e["id"] for e in _sse_events(response.text) if "id" in e]
    assert ids == ["4", "5"]
    assert live.backend.calls.requests["WatchShelf"].after_event_id == "3"


async def test_sse_errors_are_error_events(live) -> None:
    response = await live.client.get(
        "/v1/shelves/s1:watch",
        params={"count": 1, "failCode": 10},
        headers={"Accept": "text/event-stream"},
    )
    last = _sse_events(response.text)[-1]
    assert last["event"] == "error"
    assert json.loads(last["data"])["code"] == 10


async def test_idle_sse_streams_send_keep_alive_comments(live) -> None:
    response = await live.client.get(
        "/v1/shelves/s1:watch",
        params={"count": 2, "interval": "0.5s"},
        headers={"Accept": "text/event-stream"},
    )
    assert ": keep-alive" in response.text
    assert [e["id"] for e in _sse_events(response.text) if "id" in e] == ["1", "2"]


async def test_a_client_that_disconnects_cancels_the_upstream_call(live) -> None:
    calls = live.backend.calls
    calls.stream_cancelled.clear()
    params = {"count": 1000, "interval": "0.05s"}
    async with live.client.stream("GET", "/v1/shelves/gone:watch", params=params) as response:
        async for line in response.aiter_lines():
            if line:
                break
    await asyncio.wait_for(calls.stream_cancelled.wait(), timeout=5)
    assert "shelves/gone" in calls.cancelled


async def test_websocket_streams_results_then_closes_normally(live) -> None:
    url = f"ws://127.0.0.1:{live.server.port}/v1/shelves/s1:watch?count=3&access_token=tok"
    async with websockets.connect(url) as socket:
        frames = [json.loads(frame) async for frame in socket]
    assert [f["result"]["event"]["id"] for f in frames] == ["1", "2", "3"]
    assert socket.close_code == 1000
    assert live.backend.calls.requests["WatchShelf"].count == 3


async def test_websocket_reports_stream_errors_as_a_frame(live) -> None:
    url = f"ws://127.0.0.1:{live.server.port}/v1/shelves/s1:watch?count=1&failCode=5"
    async with websockets.connect(url) as socket:
        frames = [json.loads(frame) async for frame in socket]
    assert frames[-1]["error"]["code"] == 5


async def test_websocket_client_close_cancels_the_upstream_call(live) -> None:
    calls = live.backend.calls
    calls.stream_cancelled.clear()
    url = f"ws://127.0.0.1:{live.server.port}/v1/shelves/ws-gone:watch?count=1000&interval=0.05s"
    async with websockets.connect(url) as socket:
        await socket.recv()
    await asyncio.wait_for(calls.stream_cancelled.wait(), timeout=5)
    assert "shelves/ws-gone" in calls.cancelled


async def test_websocket_carries_bidirectional_streams(live) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{live.server.port}/v1/chat") as socket:
        await socket.send(json.dumps({"text": "hello"}))
        assert json.loads(await socket.recv()) == {"result": {"text": "HELLO"}}
        await socket.send(json.dumps({"text": "again"}))
        assert json.loads(await socket.recv()) == {"result": {"text": "AGAIN"}}
        await socket.send("")  # half-close
        rest = [frame async for frame in socket]
    assert rest == []
    assert socket.close_code == 1000


async def test_websocket_bad_frames_are_error_frames(strict) -> None:
    # Strict input names the unknown field; by default it is ignored.
    async with websockets.connect(f"ws://127.0.0.1:{strict.server.port}/v1/chat") as socket:
        await socket.send(json.dumps({"txt": "typo"}))
        frames = [json.loads(frame) async for frame in socket]
    assert frames[-1]["error"]["code"] == 3
    assert frames[-1]["error"]["details"][0]["fieldViolations"][0]["field"] == "txt"


@pytest.mark.parametrize("path", ["/v1/shelves/s1", "/v1/nowhere"])
async def test_websocket_to_a_unary_or_unknown_route_is_refused(live, path) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"ws://127.0.0.1:{live.server.port}{path}"):
            pass
    assert refused.value.response.status_code == 403


async def test_client_streaming_over_http_takes_ndjson(live) -> None:
    body = b'{"text": "a"}\n\n{"text": "b"}\n'
    response = await live.client.request(
        "GET", "/v1/chat", content=body, headers={"content-type": "application/x-ndjson"}
    )
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    assert lines == [{"result": {"text": "A"}}, {"result": {"text": "B"}}]


async def test_shutdown_ends_open_streams_so_clients_can_resume_elsewhere() -> None:
    async with running_backend() as backend:
        config = gateway_test_config(backend.address)
        async with running_gateway(config) as server:
            base = f"http://127.0.0.1:{server.port}"
            async with (
                httpx.AsyncClient(base_url=base) as client,
                client.stream(
                    "GET",
                    "/v1/shelves/s1:watch",
                    params={"count": 1000, "interval": "0.05s"},
                    headers={"Accept": "text/event-stream"},
                ) as response,
            ):
                lines = response.aiter_lines()
                while not (await anext(lines)).startswith("id: "):
                    pass
                stopping = asyncio.create_task(server.stop())
                rest = [line async for line in lines]
                await stopping
    assert "event: error" in rest
    error = json.loads(rest[rest.index("event: error") + 1].removeprefix("data: "))
    assert error["code"] == 14
