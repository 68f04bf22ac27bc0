"""Payment-provider events, signed Stripe-style: paid checkouts buy packages, refunds reverse.

The signature header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` (more
than one v1 during a secret rotation); it must be within the tolerance of now. Events are
deduplicated by id in the transaction that applies them. A checkout and its refunds lock the
payment's row, so a refund that arrives before its purchase is recorded and applied when the
purchase comes. `handle` is what both HandlePaymentEvent and the REST webhook call.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.db import insert_ignore
from services.credits import holds, records
from services.credits.ledger import ISSUED, PURCHASED, Meta, Wallet, book, lock, save
from services.credits.models import PaymentEventRow, PaymentRow
from services.credits.records import PaymentOutcome
from services.credits.uow import UnitOfWork

log = logging.getLogger(__name__)

PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
REFUNDED = "charge.refunded"


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """Return the header a provider sends with `payload` (for clients and tests)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    payload: bytes, header: str, secret: str, *, now: float, tolerance: int
) -> None:
    """Raise Unauthenticated unless the header signs the payload within the tolerance."""
    timestamp, signatures = "", []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            signatures.append(value)
    if not timestamp.isdigit() or not signatures:
        raise errors.Unauthenticated("malformed payment signature", reason="SIGNATURE_INVALID")
    expected = signature_header(payload, secret, int(timestamp)).rpartition("v1=")[2]
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise errors.Unauthenticated("payment signature does not match", reason="SIGNATURE_INVALID")
    if abs(now - int(timestamp)) > tolerance:
        raise errors.Unauthenticated(
            "payment signature timestamp is outside the tolerance", reason="SIGNATURE_EXPIRED"
        )


@dataclass(frozen=True)
class Purchase:
    """A paid checkout: who bought which package."""

    payment_ref: str
    user_id: int
    price_id: str
    credits: int


@dataclass(frozen=True)
class Refund:
    """A refund of (part of) a payment: the cumulative refunded and charged amounts."""

    payment_ref: str
    refunded: int
    charged: int


def _parse(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except ValueError:
        event = None
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise errors.InvalidArgument.field("payload", "must be a JSON event with id and type")
    return event


def _user_id(session: dict[str, Any]) -> int:
    metadata = session.get("metadata") or {}
    raw = str(session.get("client_reference_id") or metadata.get("user") or "")
    raw = raw.removeprefix("users/")
    if not raw.isdigit():
        raise errors.InvalidArgument.field(
            "payload", "checkout names no user (client_reference_id)"
        )
    return int(raw)


def _purchase(session: dict[str, Any], packages: Mapping[str, int]) -> Purchase | None:
    """Read a paid checkout session; None while it awaits payment."""
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return None
    items = (session.get("line_items") or {}).get("data") or [{}]
    price_id = str((session.get("metadata") or {}).get("price_id") or "")
    quantity = 1
    if not price_id:
        price_id = str((items[0].get("price") or {}).get("id") or "")
        quantity = int(items[0].get("quantity") or 1)
    if price_id not in packages:
        raise errors.FailedPrecondition(
            f"no credit package for price {price_id!r}",
            reason="UNKNOWN_PRICE",
            metadata={"price_id": price_id},
            subject=price_id,
        )
    ref = str(session.get("payment_intent") or session.get("id") or "")
    return Purchase(ref, _user_id(session), price_id, packages[price_id] * quantity)


@dataclass(frozen=True)
class Terms:
    """How the studio takes payments: the webhook's secret and tolerance, price id -> credits."""

    secret: str | None
    tolerance: int
    packages: Mapping[str, int]


async def handle(uow: UnitOfWork, terms: Terms, payload: bytes, signature: str) -> PaymentOutcome:
    """Verify, deduplicate and apply one provider event."""
    if terms.secret is None:
        raise errors.FailedPrecondition(
            "payments are not configured", reason="PAYMENTS_NOT_CONFIGURED"
        )
    if not signature:
        raise errors.Unauthenticated("payment signature missing", reason="SIGNATURE_MISSING")
    verify_signature(
        payload,
        signature,
        terms.secret,
        now=uow.clock().timestamp(),
        tolerance=terms.tolerance,
    )
    event = _parse(payload)
    event_id, kind = str(event["id"])[:255], str(event["type"])[:100]
    obj = (event.get("data") or {}).get("object") or {}
    action: Purchase | Refund | None = None
    if kind in PAID:
        action = _purchase(obj, terms.packages)
    elif kind == REFUNDED and obj.get("payment_intent"):
        charged = int(obj.get("amount") or 0)
        action = Refund(str(obj["payment_intent"]), int(obj.get("amount_refunded") or 0), charged)

    async def work(db: AsyncSession, now: datetime) -> PaymentOutcome:
        ref = action.payment_ref if action else ""
        row = {"event_id": event_id, "type": kind, "payment_ref": ref, "received_at": now}
        if not await _first_delivery(db, row):
            return PaymentOutcome(event_id, False, "duplicate")
        if action is None:
            outcome = PaymentOutcome(event_id, False, f"ignored {kind}")
        else:
            payment = await _lock_payment(db, action.payment_ref, now)
            actor = f"payments/{event_id}"
            if isinstance(action, Purchase):
                outcome = await _credit(db, payment, action, event_id, actor, now)
            else:
                outcome = await _refund(db, payment, action, event_id, actor, now)
        await db.execute(
            update(PaymentEventRow)
            .where(PaymentEventRow.event_id == event_id)
            .values(outcome=outcome.outcome[:200])
        )
        return outcome

    outcome = await uow.write(work)
    log.info(
        "payment event handled",
        extra={"event_id": event_id, "type": kind, "outcome": outcome.outcome},
    )
    return outcome


async def _first_delivery(db: AsyncSession, row: dict[str, Any]) -> bool:
    """Record the event id; False when it was seen before (a redelivery)."""
    dialect = db.bind.dialect.name if db.bind is not None else "postgresql"
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(PaymentEventRow).values(**row).on_conflict_do_nothing()
    return await db.scalar(statement.returning(PaymentEventRow.event_id)) is not None


async def _lock_payment(db: AsyncSession, ref: str, now: datetime) -> PaymentRow:
    await insert_ignore(db, PaymentRow.__table__, {"payment_ref": ref, "created_at": now})
    payment = await db.scalar(
        select(PaymentRow).where(PaymentRow.payment_ref == ref).with_for_update()
    )
    assert payment is not None
    return payment


async def _credit(
    db: AsyncSession,
    payment: PaymentRow,
    purchase: Purchase,
    event_id: str,
    actor: str,
    now: datetime,
) -> PaymentOutcome:
    if payment.credited_at is not None:
        return PaymentOutcome(event_id, False, "already credited")
    payment.user_id, payment.price_id = purchase.user_id, purchase.price_id
    payment.credits, payment.credited_at = purchase.credits, now
    wallet = await lock(db, purchase.user_id)
    await holds.settle(db, wallet, now)
    wallet.move(ISSUED, PURCHASED, purchase.credits)
    meta = Meta(
        reason=f"purchase of {purchase.price_id}",
        actor=actor,
        request_id=event_id,
        idem_key=f"payment:{purchase.payment_ref}",
        fingerprint=event_id,
    )
    await book(db, wallet, records.PURCHASE, now, meta)
    outcome = f"credited {purchase.credits}"
    if payment.refunded_amount:
        outcome += "; " + await _reverse(db, wallet, payment, actor, event_id, now)
    await save(db, wallet)
    return PaymentOutcome(event_id, True, outcome)


async def _refund(
    db: AsyncSession, payment: PaymentRow, refund: Refund, event_id: str, actor: str, now: datetime
) -> PaymentOutcome:
    # Refund events carry cumulative amounts; an older one arriving late changes nothing.
    if refund.refunded > payment.refunded_amount:
        payment.refunded_amount, payment.charge_amount = refund.refunded, refund.charged
    if payment.credited_at is None or payment.user_id is None:
        return PaymentOutcome(event_id, True, "refund recorded before its purchase")
    wallet = await lock(db, payment.user_id)
    await holds.settle(db, wallet, now)
    outcome = await _reverse(db, wallet, payment, actor, event_id, now)
    await save(db, wallet)
    return PaymentOutcome(event_id, True, outcome)


async def _reverse(
    db: AsyncSession, wallet: Wallet, payment: PaymentRow, actor: str, event_id: str, now: datetime
) -> str:
    """Take back the refunded share of a purchase, as far as the user has not spent it."""
    if payment.charge_amount > 0:
        due = min(
            payment.credits, payment.credits * payment.refunded_amount // payment.charge_amount
        )
    else:
        due = payment.credits
    owed = due - payment.credits_reversed
    if owed <= 0:
        return "nothing more to reverse"
    taken = min(owed, wallet.purchased)
    wallet.move(PURCHASED, ISSUED, taken)
    if taken:
        meta = Meta(reason=f"refund of {payment.payment_ref}", actor=actor, request_id=event_id)
        await book(db, wallet, records.REFUND, now, meta)
    payment.credits_reversed = due
    payment.credits_unrecovered += owed - taken
    if owed > taken:
        log.warning(
            "refund exceeds unspent credits",
            extra={"payment_ref": payment.payment_ref, "unrecovered": owed - taken},
        )
        return f"reversed {taken} ({owed - taken} already spent)"
    return f"reversed {taken}"
