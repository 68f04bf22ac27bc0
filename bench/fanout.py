"""Server-stream fan-out, measured from client processes: the watchers and the grpc.aio floor.

`Watchers` opens N streams from several child processes (as real clients are), each on its own
connections, and returns every message's latency from its send time, which the message carries
as text. `NativeWatchers` does the same from C++ processes (bench/grpc_watch.cc): on a machine
of two cores, Python watchers spend as much CPU receiving as the server spends sending, and the
latency measured is then as much the clients' as the server's. `bare_floor` runs the same
watchers against a hello-world grpc.aio fan-out server so the product's latency can be read
against what grpc.aio itself does.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import grpc

from bench.cpu import cpu_seconds

STREAMS_PER_CONNECTION = 50
BARE_METHOD = "/bench.Fanout/Watch"
BARE_PUBLISH = "/bench.Fanout/Publish"


def pct(values: list[float], q: int) -> float:
    """Return the q-th percentile in milliseconds."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def _identity(data: bytes) -> bytes:
    return data


def _read_product(data: bytes) -> tuple[str, float | None]:
    """Return ('ready'|'', sent time) for a WatchJobResponse (the stream ends by itself)."""
    from filmstudio.v1 import ai_job_pb2, common_pb2

    event = ai_job_pb2.WatchJobResponse.FromString(data).event
    if event.message.startswith("t="):
        return "", float(event.message[2:])
    return ("ready" if event.status == common_pb2.JOB_STATUS_QUEUED else ""), None


def _read_bare(data: bytes) -> tuple[str, float | None]:
    """Return ('ready'|'end'|'', sent time) for the bare server's text messages."""
    text = data.decode()
    if text in ("ready", "end"):
        return text, None
    return "", float(text)


READERS: dict[str, Callable[[bytes], tuple[str, float | None]]] = {
    "product": _read_product,
    "bare": _read_bare,
}


async def _watch_all(
    spec: dict[str, Any], count: int, ready: multiprocessing.Queue[int]
) -> list[float]:
    """Open `count` streams, say when all are listening, return each timed message's latency."""
    read = READERS[spec["reader"]]
    channels = [
        grpc.aio.insecure_channel(spec["address"], options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(max(1, count // STREAMS_PER_CONNECTION))
    ]
    latencies: list[float] = []
    listening = 0

    async def watch(channel: grpc.aio.Channel) -> None:
        nonlocal listening
        call = channel.unary_stream(spec["method"], _identity, _identity)
        told = False
        async for data in call(spec["request"], metadata=spec["metadata"]):
            kind, sent = read(data)
            if sent is not None:
                # perf_counter is CLOCK_MONOTONIC on Linux: one clock for every process here.
                latencies.append(time.perf_counter() - sent)
            elif kind == "ready" and not told:
                told = True
                listening += 1
                if listening == count:
                    ready.put(count)
            elif kind == "end":
                return

    await asyncio.gather(*(watch(channels[i % len(channels)]) for i in range(count)))
    for channel in channels:
        await channel.close()
    return latencies


def _watcher(spec: dict[str, Any], count: int, ready: Any, out: Any) -> None:
    """Child process: watch until the streams end, then send the latencies back."""
    out.send(asyncio.run(_watch_all(spec, count, ready)))


class Watchers:
    """Child processes holding `count` streams between them."""

    def __init__(self, spec: dict[str, Any], count: int, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.count = count
        self._ready = context.Queue()
        self._pipes = []
        self._children = []
        for index in range(processes):
            share = count // processes + (index < count % processes)
            receiving, sending = context.Pipe(duplex=False)
            child = context.Process(target=_watcher, args=(spec, share, self._ready, sending))
            child.start()
            self._pipes.append(receiving)
            self._children.append(child)

    async def listening(self) -> None:
        """Return once every stream has its first message."""
        seen = 0
        while seen < self.count:
            try:
                seen += await asyncio.wait_for(asyncio.to_thread(self._ready.get), 120)
            except TimeoutError:
                raise SystemExit(
                    f"only {seen} of {self.count} streams had their first message after 120 s"
                ) from None

    async def latencies(self) -> list[float]:
        """Wait for the streams to end and return every latency."""
        found: list[float] = []
        for index, pipe in enumerate(self._pipes):
            try:
                found += await asyncio.wait_for(asyncio.to_thread(pipe.recv), 60)
            except TimeoutError:
                # Said here, as the teardown that follows makes every open stream UNAVAILABLE.
                raise SystemExit(
                    f"watcher process {index}: a stream had not ended 60 s after the last "
                    "message was sent (its end never came?)"
                ) from None
        for child in self._children:
            child.join()
        return found


class NativeWatchers:
    """The same watchers as C++ processes, each message timed on arrival and decoded here."""

    def __init__(self, binary: Path, spec: dict[str, Any], count: int, processes: int) -> None:
        self._folder = tempfile.TemporaryDirectory()
        folder = Path(self._folder.name)
        (folder / "request").write_bytes(spec["request"])
        self._read = READERS[spec["reader"]]
        self._children: list[tuple[subprocess.Popen[bytes], Path]] = []
        for index in range(processes):
            share = count // processes + (index < count % processes)
            records = folder / f"{index}.records"
            command = [
                str(binary), spec["address"], spec["method"], str(folder / "request"), str(share),
                str(max(1, share // STREAMS_PER_CONNECTION)), "600", str(records),
                *(f"{key}={value}" for key, value in spec["metadata"]),
            ]  # fmt: skip
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self._children.append((child, records))

    async def listening(self) -> None:
        """Return once every stream has its first message."""
        for index, (child, _) in enumerate(self._children):
            try:
                line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 120)  # type: ignore[union-attr]
            except TimeoutError:
                line = b""
            if line.strip() != b"ready":
                child.kill()
                error = self._error(child)
                raise SystemExit(f"watcher process {index} never heard every stream: {error}")

    async def latencies(self) -> list[float]:
        """Wait for the streams to end and return every latency."""
        found: list[float] = []
        for index, (child, records) in enumerate(self._children):
            try:
                failed = await asyncio.wait_for(asyncio.to_thread(child.wait), 60)
            except TimeoutError:
                child.kill()
                raise SystemExit(
                    f"watcher process {index}: a stream had not ended 60 s after the last "
                    "message was sent (its end never came?)"
                ) from None
            if failed:
                raise SystemExit(f"watcher process {index} failed: {self._error(child)}")
            found += self._decode(records.read_bytes())
        self._folder.cleanup()
        return found

    def _decode(self, data: bytes) -> list[float]:
        """Read the records (arrival time, length, message) into latencies."""
        latencies = []
        at = 0
        while at < len(data):
            arrived, length = struct.unpack_from("<dI", data, at)
            at += 12
            _, sent = self._read(data[at : at + length])
            at += length
            if sent is not None:
                latencies.append(arrived - sent)
        return latencies

    @staticmethod
    def _error(child: subprocess.Popen[bytes]) -> str:
        """Return what a child said on stderr once it has exited."""
        child.wait()
        return child.stderr.read().decode(errors="replace").strip()[-2000:]  # type: ignore[union-attr]


class Watching(Protocol):
    """What the benchmarks need of a set of watchers."""

    async def listening(self) -> None: ...

    async def latencies(self) -> list[float]: ...


def watchers(spec: dict[str, Any], count: int, processes: int, native: Path | None) -> Watching:
    """Start the watchers: C++ where the binary was built, Python otherwise."""
    if native is not None:
        return NativeWatchers(native, spec, count, processes)
    return Watchers(spec, count, processes)


async def _serve_bare(ports: Any) -> None:
    """A hello-world fan-out: every Publish goes to every open Watch stream."""
    queues: set[asyncio.Queue[bytes]] = set()

    async def watch(_: bytes, __: Any) -> Any:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        queues.add(queue)
        try:
            yield b"ready"
            while (message := await queue.get()) != b"end":
                yield message
            yield b"end"
        finally:
            queues.discard(queue)

    async def publish(message: bytes, _: Any) -> bytes:
        for queue in queues:
            queue.put_nowait(message)
        return b""

    server = grpc.aio.server()
    handlers = {
        "Watch": grpc.unary_stream_rpc_method_handler(watch, _identity, _identity),
        "Publish": grpc.unary_unary_rpc_method_handler(publish, _identity, _identity),
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("bench.Fanout", handlers),)
    )
    ports.put(server.add_insecure_port("127.0.0.1:0"))
    await server.start()
    await server.wait_for_termination()


def _bare_server(ports: Any) -> None:
    from services.common.loop import run_on_uvloop

    run_on_uvloop(_serve_bare(ports))  # the loop the product's servers run on


async def bare_floor(
    count: int, processes: int, reports: int, native: Path | None
) -> tuple[list[float], float]:
    """Measure a hello-world grpc.aio server's fan-out to the same watchers.

    Returns every latency and the server's CPU seconds from the first report to the last.
    """
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=_bare_server, args=(ports,), daemon=True)
    server.start()
    try:
        address = f"127.0.0.1:{await asyncio.to_thread(ports.get)}"
        spec = {"address": address, "method": BARE_METHOD, "request": b"", "metadata": ()}
        clients = watchers({**spec, "reader": "bare"}, count, processes, native)
        await clients.listening()
        async with grpc.aio.insecure_channel(address) as channel:
            publish = channel.unary_unary(BARE_PUBLISH, _identity, _identity)
            cpu = cpu_seconds(server.pid)
            for _ in range(reports):
                await asyncio.sleep(0.1)
                await publish(str(time.perf_counter()).encode())
            await asyncio.sleep(0.5)  # the last report reaches every watcher
            cpu = cpu_seconds(server.pid) - cpu
            await publish(b"end")
        return await clients.latencies(), cpu
    finally:
        server.terminate()
        server.join()
