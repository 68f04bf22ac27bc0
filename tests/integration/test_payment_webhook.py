"""The payment provider's webhook over REST: raw signed bodies in, credits out, retries safe."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from gateway.filmstudio import filmstudio_config
from gateway.server import GatewayServer
from services.credits.credits_service import CreditsService
from services.credits.payments import signature_header
from services.user.models import UserRow
from tests.support.studio import running_studio, studio_settings

SECRET = "whsec_" + "b2" * 16


@pytest.fixture(scope="module")
async def webhook(tmp_path_factory, postgres_url):
    settings = studio_settings(
        tmp_path_factory.mktemp("var"),
        postgres_url,
        PAYMENT_WEBHOOK_SECRET=SECRET,
        CREDIT_PACKAGES={"price_starter": 500},
        CREDITS_AUTO_MONTHLY=False,
    )
    async with running_studio(settings) as (server, _):
        gateway = GatewayServer(
            filmstudio_config(settings, settings.grpc_address), port=0, grace_seconds=1
        )
        port = await gateway.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                yield server, client
        finally:
            await gateway.stop()


async def _user(server) -> int:
    async with server.app.database.session() as db, db.begin():
        row = UserRow(email=f"{uuid.uuid4().hex}@example.com")
        db.add(row)
        await db.flush()
        return row.id


def _checkout(user_id: int) -> bytes:
    session = {
        "id": f"cs_{uuid.uuid4().hex}",
        "object": "checkout.session",
        "payment_status": "paid",
        "payment_intent": f"pi_{uuid.uuid4().hex}",
        "client_reference_id": str(user_id),
        "metadata": {"price_id": "price_starter"},
    }
    event = {"id": f"evt_{uuid.uuid4().hex}", "type": "checkout.session.completed"}
    return json.dumps(event | {"data": {"object": session}}, separators=(",", ":")).encode()


async def test_a_signed_checkout_credits_the_user_once(webhook) -> None:
    server, client = webhook
    user_id = await _user(server)
    body = _checkout(user_id)
    headers = {"Stripe-Signature": signature_header(body, SECRET, int(time.time()))}
    first = await client.post("/v1/payments/webhook", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["applied"] is True
    again = await client.post("/v1/payments/webhook", content=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["applied"] is False
    credits = await server.app.get(CreditsService).get_user_credits(user_id)
    assert credits.available == 500


async def test_a_bad_or_stale_signature_is_refused_so_the_provider_retries(webhook) -> None:
    server, client = webhook
    body = _checkout(await _user(server))
    forged = {"Stripe-Signature": signature_header(body, "whsec_wrong" * 3, int(time.time()))}
    refused = await client.post("/v1/payments/webhook", content=body, headers=forged)
    assert refused.status_code == 401
    stale = {"Stripe-Signature": signature_header(body, SECRET, int(time.time()) - 3600)}
    late = await client.post("/v1/payments/webhook", content=body, headers=stale)
    assert late.status_code in (400, 401)
    missing = await client.post("/v1/payments/webhook", content=body)
    assert missing.status_code in (400, 401)
