"""A job whose creation fails gives its hold back, also when the failure was an outage.

The outages here are injected where they cannot be staged on demand: the credits service
"down" is a CreditsClient wrapper refusing with UNAVAILABLE (the gRPC client's own answer to a
dead service), the queue "down" an enqueue that raises, and the database "down" a Database on a
port nothing listens on (a real refused connection). Everything else is the real studio on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from services.ai_job import hold_undo
from services.ai_job.ai_job_service import AIJobService
from services.ai_job.credits_client import CreditsClient, Hold
from services.common import errors
from services.common.db import Database
from services.credits.models import ReservationRow
from tests.support.jobs import funded_studio
from tests.support.studio import free_port


@pytest.fixture
async def studio(embedded_jobs):
    return await funded_studio(*embedded_jobs)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(hold_undo, "RETRY_SECONDS", (0.05,))


class DownFor:
    """The real credits client, answering UNAVAILABLE to the first `releases` releases."""

    def __init__(self, credits: CreditsClient, releases: int) -> None:
        self.credits = credits
        self.refusals = releases

    async def reserve(self, *args: Any) -> Hold:
        return await self.credits.reserve(*args)

    async def capture(self, reservation: str) -> None:
        await self.credits.capture(reservation)

    async def release(self, reservation: str, reason: str) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise errors.Unavailable("the credits service is unavailable")
        await self.credits.release(reservation, reason)


async def _holds(studio, user_id: int) -> list[ReservationRow]:
    async with studio.server.app.database.reader() as db:
        return list(
            await db.scalars(select(ReservationRow).where(ReservationRow.user_id == user_id))
        )


async def _until(check, within: float = 10.0) -> None:
    """Poll `check` until it holds (fail after `within` seconds)."""
    async with asyncio.timeout(within):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


async def test_a_hold_whose_release_met_an_outage_is_released_when_it_ends(
    studio, monkeypatch
) -> None:
    service = studio.server.app.get(AIJobService)
    creation = service.creation
    before = await studio.balance()

    async def queue_down(*_: object) -> None:
        raise ConnectionError("the queue is down")

    monkeypatch.setattr(creation.queue, "enqueue", queue_down)
    monkeypatch.setattr(creation.undo, "credits", DownFor(creation.credits, releases=3))
    with pytest.raises(errors.Unavailable, match="nothing was charged"):
        await service.create_job(
            int(studio.project.rsplit("/", 1)[1]),
            int(studio.user.rsplit("/", 1)[1]),
            "script_analysis",
        )
    # The release failed now; it is retried until the credits service answers again.
    user_id = int(studio.user.rsplit("/", 1)[1])

    async def released() -> bool:
        # The retry's task ends a moment after its release commits: wait for both.
        states = [hold.state for hold in await _holds(studio, user_id)]
        return states == ["released"] and creation.undo.pending == 0

    await _until(released)
    assert await studio.balance_becomes(before) == before


async def test_a_job_stored_despite_an_error_keeps_its_hold(studio) -> None:
    service = studio.server.app.get(AIJobService)
    job = await studio.create()
    stored = await service.get_job(int(job.name.rsplit("/", 1)[1]))
    user_id = int(studio.user.rsplit("/", 1)[1])
    (hold,) = await _holds(studio, user_id)
    await service.creation.undo.undo(stored.id, f"reservations/{hold.id}", "a lost answer")
    (kept,) = await _holds(studio, user_id)
    assert kept.state in ("pending", "captured")  # its job's, not returned


async def test_a_database_outage_during_the_undo_is_ridden_out(studio) -> None:
    service = studio.server.app.get(AIJobService)
    creation = service.creation
    user_id = int(studio.user.rsplit("/", 1)[1])
    before = await studio.balance()
    hold = await creation.credits.reserve(user_id, 3, 424242, 3600, "undo-outage")
    assert await studio.balance() == before - 3
    down = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    undo = hold_undo.HoldUndo(down, creation.credits, ttl_seconds=60)
    try:
        await undo.undo(424242, hold.name, "job creation failed")
        assert undo.pending == 1  # could not tell whether the job was stored: kept trying
        undo.database = studio.server.app.database  # the database is back

        async def released() -> bool:
            return undo.pending == 0

        await _until(released)
    finally:
        await down.dispose()
    assert await studio.balance_becomes(before) == before


async def test_a_refused_release_is_not_retried(studio) -> None:
    service = studio.server.app.get(AIJobService)
    undo = service.creation.undo
    await undo.undo(31337, "reservations/999999999", "job creation failed")
    assert undo.pending == 0  # NOT_FOUND is an answer, not an outage
