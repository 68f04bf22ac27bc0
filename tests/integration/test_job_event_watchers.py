"""Job event buses: watchers that a server's shutdown leaves open still leave cleanly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.ai_job.events import InMemoryEventBus, RedisEventBus
from tests.support.workers import REDIS_URL


@pytest.mark.parametrize("kind", ["in memory", "redis"])
def test_watchers_left_open_when_the_loop_ends_leave_without_an_error(kind) -> None:
    """A loop's end closes its unfinished generators in no set order (the watchers' own and,
    were `follow` one, its context managers'): every watcher must still leave the job."""
    errors: list[dict[str, Any]] = []
    buses: list[Any] = []

    async def watcher(bus: Any) -> Any:
        async with bus.follow(7) as queue:
            yield queue
            await queue.get()

    async def main() -> list[Any]:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
        bus = InMemoryEventBus() if kind == "in memory" else RedisEventBus(REDIS_URL, "test-left")
        buses.append(bus)
        watching = [watcher(bus) for _ in range(10)]
        for stream in watching:
            await anext(stream)  # suspended inside `follow`, as a stuck watcher's call is
        return watching  # kept alive, for the loop's end to close

    kept = asyncio.run(main())
    assert len(kept) == 10
    assert [context.get("message") for context in errors] == []
    assert buses[0]._fanout == {}
