"""The job service pays through the CreditsService over gRPC: reserve, capture, release."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import grpc
from filmstudio.v1 import credits_pb2, credits_pb2_grpc

from services.common.convert import resource_id
from services.common.dependencies import CircuitBreaker
from services.common.status import domain_error_from_rpc

if TYPE_CHECKING:
    from services.credits.credits_service import CreditsService

CALL_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Hold:
    """A hold's name ("reservations/{id}") and whether it still waits to be settled."""

    name: str
    pending: bool


class CreditsClient(Protocol):
    """The credit operations a job needs."""

    async def reserve(
        self, user_id: int, amount: int, job_id: int, ttl_seconds: int, request_id: str
    ) -> Hold:
        """Place a hold (a repeated request_id returns the first hold, as it is now)."""
        ...

    async def capture(self, reservation: str) -> None:
        """Take the whole hold (idempotent)."""
        ...

    async def release(self, reservation: str, reason: str) -> None:
        """Return the hold (idempotent)."""
        ...


class GrpcCreditsClient:
    """CreditsClient over a gRPC channel, authenticated as the jobs service."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        token: Callable[[], str],
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._stub = credits_pb2_grpc.CreditsServiceStub(channel)
        self._token = token
        # While the credits service is down, job creation and settlement fail fast.
        self._breaker = breaker or CircuitBreaker("the credits service")

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self._token()}"),)

    async def reserve(
        self, user_id: int, amount: int, job_id: int, ttl_seconds: int, request_id: str
    ) -> Hold:
        """Place a hold for a job."""
        request = credits_pb2.ReserveCreditsRequest(
            user=f"users/{user_id}",
            amount=amount,
            job=f"jobs/{job_id}",
            ttl_seconds=ttl_seconds,
            request_id=request_id,
        )
        try:
            response = await self._breaker.call(
                lambda: self._stub.ReserveCredits(
                    request, metadata=self._metadata(), timeout=CALL_TIMEOUT_SECONDS
                )
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from_rpc(error) from error
        reservation = response.reservation
        return Hold(
            str(reservation.name),
            reservation.state == credits_pb2.RESERVATION_STATE_PENDING,
        )

    async def capture(self, reservation: str) -> None:
        """Capture a hold in full."""
        request = credits_pb2.CaptureReservationRequest(name=reservation)
        try:
            await self._breaker.call(
                lambda: self._stub.CaptureReservation(
                    request, metadata=self._metadata(), timeout=CALL_TIMEOUT_SECONDS
                )
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from_rpc(error) from error

    async def release(self, reservation: str, reason: str) -> None:
        """Release a hold."""
        request = credits_pb2.ReleaseReservationRequest(name=reservation, reason=reason)
        try:
            await self._breaker.call(
                lambda: self._stub.ReleaseReservation(
                    request, metadata=self._metadata(), timeout=CALL_TIMEOUT_SECONDS
                )
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from_rpc(error) from error


class LocalCreditsClient:
    """CreditsClient calling the CreditsService in this process (the documented in-process use)."""

    def __init__(self, credits: CreditsService) -> None:
        self._credits = credits

    async def reserve(
        self, user_id: int, amount: int, job_id: int, ttl_seconds: int, request_id: str
    ) -> Hold:
        """Place a hold for a job."""
        hold = await self._credits.reserve_credits(
            user_id,
            amount,
            idempotency_key=request_id,
            job=f"jobs/{job_id}",
            ttl_seconds=ttl_seconds,
            actor="services/jobs",
        )
        return Hold(f"reservations/{hold.id}", hold.state == "pending")

    async def capture(self, reservation: str) -> None:
        """Capture a hold in full."""
        await self._credits.capture_reservation(_reservation_id(reservation), actor="services/jobs")

    async def release(self, reservation: str, reason: str) -> None:
        """Release a hold."""
        await self._credits.release_reservation(
            _reservation_id(reservation), reason, actor="services/jobs"
        )


def _reservation_id(name: str) -> int:
    return resource_id(name, "reservations")
