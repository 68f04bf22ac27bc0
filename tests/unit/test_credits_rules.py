"""Pure rules of the credits domain: webhook signatures, periods, the spending order, legs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common import errors
from services.credits import checks
from services.credits.ledger import CONSUMED, ISSUED, Wallet
from services.credits.monthly import period_end, period_of
from services.credits.payments import signature_header, verify_signature

SECRET = "whsec_test"
BODY = b'{"id": "evt_1", "type": "checkout.session.completed"}'
NOW = 1_900_000_000


def test_a_signature_made_with_the_secret_verifies() -> None:
    verify_signature(BODY, signature_header(BODY, SECRET, NOW), SECRET, now=NOW, tolerance=300)


def test_any_of_several_v1_signatures_may_match_during_a_secret_rotation() -> None:
    good = signature_header(BODY, SECRET, NOW).split(",")[1]
    header = f"t={NOW},v1={'0' * 64},{good}"
    verify_signature(BODY, header, SECRET, now=NOW, tolerance=300)


@pytest.mark.parametrize(
    ("header", "body", "now", "reason"),
    [
        (signature_header(BODY, SECRET, NOW), BODY + b" ", NOW, "SIGNATURE_INVALID"),
        (signature_header(BODY, "whsec_other", NOW), BODY, NOW, "SIGNATURE_INVALID"),
        (signature_header(BODY, SECRET, NOW), BODY, NOW + 301, "SIGNATURE_EXPIRED"),
        (signature_header(BODY, SECRET, NOW), BODY, NOW - 301, "SIGNATURE_EXPIRED"),
        (f"v1={'0' * 64}", BODY, NOW, "SIGNATURE_INVALID"),
        (f"t={NOW}", BODY, NOW, "SIGNATURE_INVALID"),
        ("garbage", BODY, NOW, "SIGNATURE_INVALID"),
    ],
    ids=["tampered", "other-secret", "too-old", "from-the-future", "no-t", "no-v1", "garbage"],
)
def test_a_bad_signature_is_unauthenticated(header, body, now, reason) -> None:
    with pytest.raises(errors.Unauthenticated) as caught:
        verify_signature(body, header, SECRET, now=now, tolerance=300)
    assert caught.value.reason == reason


def test_periods_are_utc_calendar_months() -> None:
    assert period_of(datetime(2030, 12, 31, 23, 59, tzinfo=UTC)) == "2030-12"
    assert period_end("2030-12") == datetime(2031, 1, 1, tzinfo=UTC)
    assert period_end("2030-02") == datetime(2030, 3, 1, tzinfo=UTC)


def test_spending_draws_monthly_then_expiring_grants_then_purchased() -> None:
    wallet = Wallet(user_id=1, tier="free", monthly=5, bonus=3, purchased=10)
    assert wallet.split(4) == (4, 0, 0)
    assert wallet.split(7) == (5, 2, 0)
    assert wallet.split(12) == (5, 3, 4)


def test_a_leg_moves_credits_between_two_accounts_and_never_overdraws_a_user_account() -> None:
    wallet = Wallet(user_id=1, tier="free")
    wallet.move(ISSUED, "purchased", 5)
    wallet.move("purchased", CONSUMED, 2)
    assert (wallet.purchased, wallet.available, len(wallet.legs)) == (3, 3, 2)
    with pytest.raises(ValueError, match="overdraw"):
        wallet.move("purchased", CONSUMED, 4)
    with pytest.raises(ValueError, match="invalid leg"):
        wallet.move("purchased", "purchased", 1)


def test_balances_report_held_credits_inside_monthly_and_purchased() -> None:
    wallet = Wallet(user_id=1, tier="free", monthly=2, held_monthly=3, purchased=4, held_bonus=1)
    credits = wallet.credits()
    assert (credits.available, credits.reserved) == (6, 4)
    assert credits.monthly + credits.purchased - credits.reserved == credits.available


def test_fingerprints_tell_parameters_apart() -> None:
    first = checks.fingerprint("deduction", user=1, amount=2)
    assert first == checks.fingerprint("deduction", amount=2, user=1)
    assert first != checks.fingerprint("deduction", user=1, amount=3)


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\tkey"])
def test_idempotency_keys_must_be_short_printable_and_present(key) -> None:
    with pytest.raises(errors.InvalidArgument):
        checks.key(key)
