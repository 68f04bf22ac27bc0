"""Raw-body webhook routes: a payment provider posts its signed event body as it is.

Transcoded routes parse JSON; a signature covers the exact bytes sent, so the webhook forwards
them untouched to CreditsService.HandlePaymentEvent with the provider's signature header.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import grpc
from filmstudio.v1 import credits_pb2, credits_pb2_grpc

from gateway.asgi import Receive, Scope, Send, header, read_body, send_bytes, send_status
from gateway.errors import http_status, status_from_rpc_error

log = logging.getLogger(__name__)

PAYMENT_WEBHOOK = "/v1/payments/webhook"
SIGNATURE_HEADER = b"stripe-signature"
MAX_EVENT_BYTES = 512 * 1024


class PaymentWebhook:
    """POST /v1/payments/webhook: forward the raw body and signature over gRPC."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._channel: grpc.aio.Channel | None = None

    def _stub(self) -> Any:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.backend)
        return credits_pb2_grpc.CreditsServiceStub(self._channel)

    async def close(self) -> None:
        """Close the channel."""
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one delivery; anything but 200 makes the provider retry it."""
        body = await read_body(scope, receive, MAX_EVENT_BYTES)
        signature = (header(scope, SIGNATURE_HEADER) or b"").decode("latin-1")
        request = credits_pb2.HandlePaymentEventRequest(payload=body, signature=signature)
        try:
            answer = await self._stub().HandlePaymentEvent(request, timeout=30)
        except grpc.aio.AioRpcError as error:
            log.warning("payment webhook refused", extra={"code": error.code().name})
            await send_status(send, status_from_rpc_error(error), http_status(error.code()))
            return
        document = {
            "eventId": answer.event_id,
            "applied": answer.applied,
            "outcome": answer.outcome,
        }
        await send_bytes(send, 200, json.dumps(document).encode())
