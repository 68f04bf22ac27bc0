"""Settings come from the documented environment names; production refuses weak defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.common.config import Settings

STRONG = "s" * 40


def test_documented_environment_names_are_read(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/filmstudio")
    monkeypatch.setenv("JWT_SECRET", STRONG)
    monkeypatch.setenv("JWT_ALGORITHM", "HS512")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("S3_BUCKET_NAME", "ai-film-studio-prod")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("YOUTUBE_CLIENT_ID", "client-id")
    settings = Settings()
    assert settings.database_url == "postgresql://db.internal/filmstudio"
    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == STRONG
    assert settings.jwt_algorithm == "HS512"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.s3_bucket_name == "ai-film-studio-prod"
    assert settings.aws_region == "eu-west-1"
    assert settings.youtube_client_id == "client-id"


def test_embedded_defaults_use_sqlite_under_var(tmp_path) -> None:
    settings = Settings(FILMSTUDIO_VAR_DIR=str(tmp_path))
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path}/filmstudio.db"
    assert settings.grpc_address == "127.0.0.1:50051"
    assert settings.effective_log_format == "text"


def test_development_secret_is_random_and_persists_across_restarts(tmp_path) -> None:
    first = Settings(FILMSTUDIO_VAR_DIR=str(tmp_path)).signing_secret()
    again = Settings(FILMSTUDIO_VAR_DIR=str(tmp_path)).signing_secret()
    other = Settings(FILMSTUDIO_VAR_DIR=str(tmp_path / "other")).signing_secret()
    assert first == again
    assert first != other
    assert len(first.encode()) >= 32
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(FILMSTUDIO_ENV="production", DATABASE_URL="postgresql://db/x")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(FILMSTUDIO_ENV="production", JWT_SECRET=STRONG)


def test_production_refuses_a_short_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(FILMSTUDIO_ENV="production", DATABASE_URL="postgresql://db/x", JWT_SECRET="short")


def test_production_logs_json_and_accepts_strong_settings() -> None:
    settings = Settings(
        FILMSTUDIO_ENV="production", DATABASE_URL="postgresql://db/x", JWT_SECRET=STRONG
    )
    assert settings.effective_log_format == "json"
    assert settings.signing_secret() == STRONG


def test_unsupported_jwt_algorithm_is_refused() -> None:
    with pytest.raises(ValidationError, match="not supported"):
        Settings(JWT_ALGORITHM="none")


def test_asymmetric_algorithms_need_both_keys_in_production() -> None:
    with pytest.raises(ValidationError, match="JWT_PRIVATE_KEY"):
        Settings(
            FILMSTUDIO_ENV="production", DATABASE_URL="postgresql://db/x", JWT_ALGORITHM="RS256"
        )


def test_a_weak_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="outside development"):
        Settings(FILMSTUDIO_ENV="test", JWT_SECRET="short-secret")
    assert Settings(JWT_SECRET="short-secret").jwt_secret is not None  # development allows it
