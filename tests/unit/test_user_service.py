"""The user service as the product docs build it, and its profile rules, without I/O."""

from __future__ import annotations

import pytest

from services.common import errors
from services.common.config import explicit_settings
from services.common.db import Database
from services.user.rules import profile_changes
from services.user.user_service import UserService


def test_a_user_service_built_without_settings_does_not_read_the_environment(
    monkeypatch,
) -> None:
    monkeypatch.setenv("BCRYPT_ROUNDS", "5")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://elsewhere.example")
    service = UserService(Database("sqlite+aiosqlite:///:memory:"), jwt_secret="secret_key")
    assert service.hasher.rounds == 12
    assert service.settings.public_base_url == "http://127.0.0.1:8080"
    assert service.providers == {}


def test_a_user_service_uses_the_settings_it_is_given() -> None:
    settings = explicit_settings(BCRYPT_ROUNDS=4, JWT_SECRET="x" * 32)
    service = UserService(Database("sqlite+aiosqlite:///:memory:"), settings=settings)
    assert service.hasher.rounds == 4
    assert service.tokens.access_ttl == settings.access_token_ttl_seconds


def test_a_profile_update_must_name_fields_the_profile_has() -> None:
    with pytest.raises(errors.InvalidArgument) as empty:
        profile_changes({})
    assert [v.field for v in empty.value.violations] == ["update_mask"]
    with pytest.raises(errors.InvalidArgument) as unknown:
        profile_changes({"email": "a@example.com", "role": "admin", "locale": "en-US"})
    assert [v.description for v in unknown.value.violations] == [
        "email cannot be updated",
        "role cannot be updated",
    ]


def test_profile_changes_are_trimmed_and_checked() -> None:
    assert profile_changes({"first_name": "  Ada "}) == {"first_name": "Ada"}
    with pytest.raises(errors.InvalidArgument) as bad:
        profile_changes({"avatar_url": "http://example.com/a.png", "locale": "not a tag"})
    assert [v.field for v in bad.value.violations] == ["user.avatar_url", "user.locale"]
