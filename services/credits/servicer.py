"""The gRPC transport of CreditsService: proto in, domain call, proto out."""

from __future__ import annotations

import grpc
from filmstudio.v1 import credits_pb2, credits_pb2_grpc

from services.common.context import require_principal
from services.common.convert import resource_id, user_ref
from services.common.memo import PerRecord
from services.credits.convert import (
    added_kind,
    credits_message,
    credits_owner,
    history_owner,
    kind_name,
    moment,
    reservation_message,
    transaction_message,
)
from services.credits.credits_service import CreditsService
from services.credits.records import Credits

# Each RPC's context is typed with its own request and response: Context[Request, Response].
Context = grpc.aio.ServicerContext


def _actor() -> str:
    return require_principal().resource_name


class CreditsServicer(credits_pb2_grpc.CreditsServiceServicer):
    """CreditsService over gRPC."""

    def __init__(self, service: CreditsService) -> None:
        self.service = service
        # Balances read from a kept row are one record for many calls: one message (memo.py).
        self._balances: PerRecord[Credits, credits_pb2.Credits] = PerRecord(credits_message)

    async def GetCredits(
        self,
        request: credits_pb2.GetCreditsRequest,
        context: Context[credits_pb2.GetCreditsRequest, credits_pb2.GetCreditsResponse],
    ) -> credits_pb2.GetCreditsResponse:
        user_id = credits_owner(request.name, require_principal())
        credits = await self.service.get_user_credits(user_id)
        return credits_pb2.GetCreditsResponse(credits=self._balances(credits))

    async def DeductCredits(
        self,
        request: credits_pb2.DeductCreditsRequest,
        context: Context[credits_pb2.DeductCreditsRequest, credits_pb2.DeductCreditsResponse],
    ) -> credits_pb2.DeductCreditsResponse:
        result = await self.service.deduct_credits(
            user_ref(request.user, require_principal(), "user"),
            request.amount,
            request.reason,
            idempotency_key=request.request_id,
            job=request.job,
            actor=_actor(),
        )
        return credits_pb2.DeductCreditsResponse(
            transaction=transaction_message(result.transaction),
            credits=credits_message(result.credits),
        )

    async def AddCredits(
        self,
        request: credits_pb2.AddCreditsRequest,
        context: Context[credits_pb2.AddCreditsRequest, credits_pb2.AddCreditsResponse],
    ) -> credits_pb2.AddCreditsResponse:
        result = await self.service.add_credits(
            user_ref(request.user, require_principal(), "user"),
            request.amount,
            added_kind(request.kind),
            request.reason,
            idempotency_key=request.request_id,
            expires_at=moment(request.expire_time, request.HasField("expire_time")),
            actor=_actor(),
        )
        return credits_pb2.AddCreditsResponse(
            transaction=transaction_message(result.transaction),
            credits=credits_message(result.credits),
        )

    async def ListTransactions(
        self,
        request: credits_pb2.ListTransactionsRequest,
        context: Context[credits_pb2.ListTransactionsRequest, credits_pb2.ListTransactionsResponse],
    ) -> credits_pb2.ListTransactionsResponse:
        transactions, next_token = await self.service.get_transaction_history(
            history_owner(request.parent, require_principal()),
            kind=kind_name(request.kind),
            start_time=moment(request.start_time, request.HasField("start_time")),
            end_time=moment(request.end_time, request.HasField("end_time")),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return credits_pb2.ListTransactionsResponse(
            transactions=[transaction_message(t) for t in transactions],
            next_page_token=next_token,
        )

    async def CheckSufficientCredits(
        self,
        request: credits_pb2.CheckSufficientCreditsRequest,
        context: Context[
            credits_pb2.CheckSufficientCreditsRequest, credits_pb2.CheckSufficientCreditsResponse
        ],
    ) -> credits_pb2.CheckSufficientCreditsResponse:
        user_id = credits_owner(request.name, require_principal())
        check = await self.service.check_sufficient_credits(user_id, request.amount)
        return credits_pb2.CheckSufficientCreditsResponse(
            sufficient=check.sufficient, available=check.available, shortfall=check.shortfall
        )

    async def ResetMonthlyCredits(
        self,
        request: credits_pb2.ResetMonthlyCreditsRequest,
        context: Context[
            credits_pb2.ResetMonthlyCreditsRequest, credits_pb2.ResetMonthlyCreditsResponse
        ],
    ) -> credits_pb2.ResetMonthlyCreditsResponse:
        principal = require_principal()
        user_id = user_ref(request.user, principal, "user") if request.user else None
        result = await self.service.reset_monthly_credits(request.period or None, user_id)
        return credits_pb2.ResetMonthlyCreditsResponse(
            period=result.period,
            granted_users=result.granted_users,
            skipped_users=result.skipped_users,
        )

    async def ReserveCredits(
        self,
        request: credits_pb2.ReserveCreditsRequest,
        context: Context[credits_pb2.ReserveCreditsRequest, credits_pb2.ReserveCreditsResponse],
    ) -> credits_pb2.ReserveCreditsResponse:
        reservation = await self.service.reserve_credits(
            user_ref(request.user, require_principal(), "user"),
            request.amount,
            idempotency_key=request.request_id,
            job=request.job,
            ttl_seconds=request.ttl_seconds,
            actor=_actor(),
        )
        return credits_pb2.ReserveCreditsResponse(reservation=reservation_message(reservation))

    async def CaptureReservation(
        self,
        request: credits_pb2.CaptureReservationRequest,
        context: Context[
            credits_pb2.CaptureReservationRequest, credits_pb2.CaptureReservationResponse
        ],
    ) -> credits_pb2.CaptureReservationResponse:
        reservation = await self.service.capture_reservation(
            resource_id(request.name, "reservations"), request.amount, actor=_actor()
        )
        return credits_pb2.CaptureReservationResponse(reservation=reservation_message(reservation))

    async def ReleaseReservation(
        self,
        request: credits_pb2.ReleaseReservationRequest,
        context: Context[
            credits_pb2.ReleaseReservationRequest, credits_pb2.ReleaseReservationResponse
        ],
    ) -> credits_pb2.ReleaseReservationResponse:
        reservation = await self.service.release_reservation(
            resource_id(request.name, "reservations"), request.reason, actor=_actor()
        )
        return credits_pb2.ReleaseReservationResponse(reservation=reservation_message(reservation))

    async def HandlePaymentEvent(
        self,
        request: credits_pb2.HandlePaymentEventRequest,
        context: Context[
            credits_pb2.HandlePaymentEventRequest, credits_pb2.HandlePaymentEventResponse
        ],
    ) -> credits_pb2.HandlePaymentEventResponse:
        outcome = await self.service.handle_payment_event(request.payload, request.signature)
        return credits_pb2.HandlePaymentEventResponse(
            event_id=outcome.event_id, applied=outcome.applied, outcome=outcome.outcome
        )
