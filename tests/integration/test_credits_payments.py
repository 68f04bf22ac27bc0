"""Signed payment-provider events over real gRPC: packages, duplicates, refunds in any order."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import grpc
import pytest
from filmstudio.v1 import credits_pb2, credits_pb2_grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.credits.credits_service import CreditsService
from services.credits.payments import signature_header
from services.user.models import UserRow
from tests.support.studio import bearer, running_studio, studio_settings

SECRET = "whsec_" + "a1" * 16
PACKAGES = {"price_starter": 500, "price_pro": 2000}


@pytest.fixture(scope="module")
async def studio(tmp_path_factory, postgres_url):
    settings = studio_settings(
        tmp_path_factory.mktemp("var"),
        postgres_url,
        PAYMENT_WEBHOOK_SECRET=SECRET,
        CREDIT_PACKAGES=PACKAGES,
        CREDITS_AUTO_MONTHLY=False,
    )
    async with running_studio(settings) as live:
        yield live


class Provider:
    """Sends events the way a Stripe-like provider does, and reads the user's balance."""

    def __init__(self, live: Any) -> None:
        self.server, channel = live
        self.stub = credits_pb2_grpc.CreditsServiceStub(channel)
        self.auth = bearer(self.server.app.tokens.issue_service_token("jobs"))

    async def send(self, event: dict[str, Any], *, secret: str = SECRET, at: int = 0) -> Any:
        payload = json.dumps(event).encode()
        request = credits_pb2.HandlePaymentEventRequest(
            payload=payload, signature=signature_header(payload, secret, at or int(time.time()))
        )
        return await self.stub.HandlePaymentEvent(request)

    async def new_user(self) -> int:
        async with self.server.app.database.session() as db, db.begin():
            row = UserRow(email=f"{uuid.uuid4().hex}@example.com")
            db.add(row)
            await db.flush()
            return row.id

    async def credits(self, user_id: int) -> Any:
        request = credits_pb2.GetCreditsRequest(name=f"users/{user_id}/credits")
        return (await self.stub.GetCredits(request, metadata=self.auth)).credits

    async def spend(self, user_id: int, amount: int) -> None:
        request = credits_pb2.DeductCreditsRequest(
            user=f"users/{user_id}", amount=amount, request_id=uuid.uuid4().hex
        )
        await self.stub.DeductCredits(request, metadata=self.auth)


@pytest.fixture(scope="module")
def provider(studio) -> Provider:
    return Provider(studio)


def reason_of(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def checkout(user_id: int, intent: str, price: str = "price_starter", **extra: Any) -> dict:
    session = {
        "id": f"cs_{uuid.uuid4().hex}",
        "object": "checkout.session",
        "payment_status": "paid",
        "payment_intent": intent,
        "client_reference_id": str(user_id),
        "metadata": {"price_id": price},
        **extra,
    }
    event_id = f"evt_{uuid.uuid4().hex}"
    return {"id": event_id, "type": "checkout.session.completed", "data": {"object": session}}


def refund(intent: str, refunded: int, charged: int = 1000) -> dict:
    charge = {
        "id": "ch_1",
        "payment_intent": intent,
        "amount": charged,
        "amount_refunded": refunded,
    }
    return {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.refunded", "data": {"object": charge}}


def intent() -> str:
    return f"pi_{uuid.uuid4().hex}"


async def test_a_paid_checkout_buys_its_package_once_however_often_it_is_delivered(
    provider,
) -> None:
    user = await provider.new_user()
    event = checkout(user, intent(), "price_pro")

    responses = await asyncio.gather(*(provider.send(event) for _ in range(8)))
    late = await provider.send(event)

    assert sorted(r.applied for r in responses) == [False] * 7 + [True]
    assert {r.outcome for r in responses} == {"credited 2000", "duplicate"}
    assert (late.event_id, late.applied, late.outcome) == (event["id"], False, "duplicate")
    assert (await provider.credits(user)).purchased == 2000
    history = await provider.stub.ListTransactions(
        credits_pb2.ListTransactionsRequest(parent=f"users/{user}"), metadata=provider.auth
    )
    [purchase] = history.transactions
    assert purchase.kind == credits_pb2.TRANSACTION_KIND_PURCHASE
    assert (purchase.actor, purchase.request_id) == (f"payments/{event['id']}", event["id"])


async def test_a_second_event_for_the_same_payment_credits_nothing_more(provider) -> None:
    user, payment = await provider.new_user(), intent()
    await provider.send(checkout(user, payment))
    succeeded = checkout(user, payment)
    succeeded["type"] = "checkout.session.async_payment_succeeded"

    response = await provider.send(succeeded)

    assert (response.applied, response.outcome) == (False, "already credited")
    assert (await provider.credits(user)).available == 500


async def test_refunds_reverse_the_refunded_share_and_cumulative_amounts_apply_once(
    provider,
) -> None:
    user, payment = await provider.new_user(), intent()
    await provider.send(checkout(user, payment))

    half = await provider.send(refund(payment, 500))
    stale = await provider.send(refund(payment, 250))
    full = await provider.send(refund(payment, 1000))

    assert [half.outcome, stale.outcome, full.outcome] == [
        "reversed 250",
        "nothing more to reverse",
        "reversed 250",
    ]
    assert (await provider.credits(user)).available == 0
    report = await provider.server.app.get(CreditsService).verify_ledger()
    assert report.clean


async def test_a_refund_that_arrives_before_its_purchase_applies_when_the_purchase_comes(
    provider,
) -> None:
    user, payment = await provider.new_user(), intent()

    early = await provider.send(refund(payment, 1000))
    purchase = await provider.send(checkout(user, payment))

    assert (early.applied, early.outcome) == (True, "refund recorded before its purchase")
    assert purchase.outcome == "credited 500; reversed 500"
    assert (await provider.credits(user)).available == 0


async def test_a_refund_takes_back_only_what_was_not_spent(provider) -> None:
    user, payment = await provider.new_user(), intent()
    await provider.send(checkout(user, payment))
    await provider.spend(user, 300)

    response = await provider.send(refund(payment, 1000))

    assert response.outcome == "reversed 200 (300 already spent)"
    assert (await provider.credits(user)).available == 0


@pytest.mark.parametrize(
    ("secret", "age", "reason"),
    [("whsec_wrong", 0, "SIGNATURE_INVALID"), (SECRET, 301, "SIGNATURE_EXPIRED")],
    ids=["wrong-secret", "too-old"],
)
async def test_an_unverifiable_event_is_refused_and_not_recorded(
    provider, secret, age, reason
) -> None:
    user = await provider.new_user()
    event = checkout(user, intent())

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await provider.send(event, secret=secret, at=int(time.time()) - age)
    accepted = await provider.send(event)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(caught.value) == reason
    assert accepted.applied


async def test_an_unsigned_event_is_unauthenticated(provider) -> None:
    request = credits_pb2.HandlePaymentEventRequest(payload=b"{}")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await provider.stub.HandlePaymentEvent(request)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_checkout_for_an_unknown_price_fails_so_the_provider_retries(provider) -> None:
    event = checkout(await provider.new_user(), intent(), "price_unknown")

    for _ in range(2):  # not recorded as seen: a retry fails the same way, not as a duplicate
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await provider.send(event)
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert reason_of(caught.value) == "UNKNOWN_PRICE"


async def test_unpaid_checkouts_and_other_event_types_are_ignored(provider) -> None:
    user = await provider.new_user()
    unpaid = checkout(user, intent(), payment_status="unpaid")
    other = {"id": f"evt_{uuid.uuid4().hex}", "type": "customer.created", "data": {"object": {}}}

    responses = [await provider.send(unpaid), await provider.send(other)]

    assert [(r.applied, r.outcome) for r in responses] == [
        (False, "ignored checkout.session.completed"),
        (False, "ignored customer.created"),
    ]
    assert (await provider.credits(user)).available == 0
