"""Service-to-service calls: gRPC retries idempotent calls, and a breaker fails fast while the
dependency is down and closes by itself once it is back. A real credits server on a real port."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from filmstudio.v1 import credits_pb2, credits_pb2_grpc

from services.ai_job.credits_client import GrpcCreditsClient
from services.common import errors
from services.common.dependencies import CircuitBreaker, internal_channel
from tests.support.studio import free_port

CREDITS = "filmstudio.v1.CreditsService"


class FlakyCredits(credits_pb2_grpc.CreditsServiceServicer):
    """Answers UNAVAILABLE to the first `failures` holds, then places them."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def ReserveCredits(self, request, context):
        self.calls += 1
        if self.calls <= self.failures:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "database restarting")
        reservation = credits_pb2.Reservation(
            name="reservations/7", state=credits_pb2.RESERVATION_STATE_PENDING
        )
        return credits_pb2.ReserveCreditsResponse(reservation=reservation)


async def _serve(servicer: FlakyCredits, port: int) -> grpc.aio.Server:
    server = grpc.aio.server()
    credits_pb2_grpc.add_CreditsServiceServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server


def _client(port: int, breaker: CircuitBreaker | None = None) -> GrpcCreditsClient:
    channel = internal_channel(f"127.0.0.1:{port}", idempotent_services=[CREDITS])
    return GrpcCreditsClient(channel, lambda: "token", breaker)


async def test_an_idempotent_call_is_retried_through_a_short_outage() -> None:
    port = free_port()
    servicer = FlakyCredits(failures=2)
    server = await _serve(servicer, port)
    try:
        hold = await _client(port).reserve(1, 5, 9, 60, "req-1")
    finally:
        await server.stop(None)
    assert hold.name == "reservations/7"
    assert servicer.calls == 3, "two UNAVAILABLE answers, then the hold"


async def test_without_the_retry_policy_the_first_unavailable_is_final() -> None:
    port = free_port()
    servicer = FlakyCredits(failures=1)
    server = await _serve(servicer, port)
    try:
        channel = internal_channel(f"127.0.0.1:{port}")  # no idempotent services named
        with pytest.raises(errors.Unavailable):
            await GrpcCreditsClient(channel, lambda: "token").reserve(1, 5, 9, 60, "req-1")
    finally:
        await server.stop(None)
    assert servicer.calls == 1


async def test_the_breaker_fails_fast_while_credits_are_down_and_closes_when_back() -> None:
    port = free_port()  # nothing listens yet: every call is an outage
    breaker = CircuitBreaker("the credits service", failures=3, open_seconds=0.5)
    client = _client(port, breaker)
    for _ in range(3):
        with pytest.raises(errors.Unavailable):
            await client.reserve(1, 5, 9, 60, "req-1")
    assert breaker.state == "open"
    started = time.monotonic()
    with pytest.raises(errors.Unavailable) as refused:
        await client.reserve(1, 5, 9, 60, "req-1")
    assert time.monotonic() - started < 0.05, "an open breaker does not call"
    assert refused.value.reason == "DEPENDENCY_UNAVAILABLE"
    assert refused.value.retry_after_seconds == 1

    server = await _serve(FlakyCredits(failures=0), port)
    try:
        await asyncio.sleep(0.6)
        assert breaker.state == "half-open"
        deadline = time.monotonic() + 10
        while True:  # trial calls, until the channel has reconnected (2 s at most)
            try:
                hold = await client.reserve(1, 5, 9, 60, "req-1")
                break
            except errors.Unavailable:
                assert time.monotonic() < deadline, "the breaker never closed"
                await asyncio.sleep(0.2)
        assert hold.name == "reservations/7"
        assert breaker.state == "closed"
    finally:
        await server.stop(None)
