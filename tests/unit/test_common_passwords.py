"""The shipped common-passwords list and the check built on it."""

from __future__ import annotations

import secrets

import pytest

from services.user.common_passwords import common_password_count, is_common_password


def test_list_holds_at_least_ten_thousand_passwords() -> None:
    assert common_password_count() >= 10_000


@pytest.mark.parametrize("password", ["password", "123456", "qwerty", "PassWord", "QWERTY"])
def test_well_known_passwords_are_common_whatever_their_case(password: str) -> None:
    assert is_common_password(password)


def test_a_long_random_passphrase_is_not_common() -> None:
    passphrase = "-".join(secrets.token_hex(4) for _ in range(5))
    assert not is_common_password(passphrase)
    assert not is_common_password("correct horse battery staple at dawn")


def test_the_header_comment_is_not_a_password() -> None:
    assert not is_common_password("")
    assert not any(is_common_password(word) for word in ("#", "# The 30,000 most common passwords"))
