"""The YouTube domain's pure parts: token encryption, metadata checks, retry decisions, settings."""

from __future__ import annotations

from datetime import timedelta

import httplib2
import pytest
from googleapiclient.errors import HttpError

from services.ai_job.creation import _check_project_ready
from services.common import errors
from services.common.config import ConfigError, Settings
from services.common.db import utcnow
from services.youtube.metadata import UploadMetadata, metadata_from_job
from services.youtube.resumable import Backoff, transient
from services.youtube.token_cipher import TokenCipher, TokenUnreadable
from services.youtube.uploads import Uploads

KEY = "A" * 43


def _http_error(status: int) -> HttpError:
    return HttpError(httplib2.Response({"status": status}), b"{}", uri="http://x")


def test_a_token_decrypts_only_with_its_key_and_owner() -> None:
    cipher = TokenCipher.parse(f"k1:{KEY}")
    stored = cipher.encrypt("1//refresh", "users/1")
    assert stored.startswith("v1.k1.")
    assert "refresh" not in stored
    assert cipher.decrypt(stored, "users/1") == "1//refresh"
    with pytest.raises(TokenUnreadable):
        cipher.decrypt(stored, "users/2")
    with pytest.raises(TokenUnreadable):
        TokenCipher.parse(f"k1:{'B' * 43}").decrypt(stored, "users/1")
    with pytest.raises(TokenUnreadable):
        TokenCipher.parse(f"k9:{KEY}").decrypt(stored, "users/1")


@pytest.mark.parametrize("spec", ["", "k1", "k1:short", "k-1:" + KEY, "k1:***"])
def test_bad_key_lists_are_a_clear_config_error(spec: str) -> None:
    with pytest.raises(ConfigError):
        TokenCipher.parse(spec)


def test_production_needs_token_keys_when_youtube_is_configured() -> None:
    with pytest.raises(ValueError, match="YOUTUBE_TOKEN_KEYS"):
        Settings(
            FILMSTUDIO_ENV="production",
            DATABASE_URL="postgresql://x/y",
            JWT_SECRET="s" * 40,
            YOUTUBE_CLIENT_ID="id",
        )


def test_the_chunk_size_must_be_a_multiple_of_256_kib() -> None:
    with pytest.raises(ValueError, match="262144"):
        Settings(FILMSTUDIO_ENV="test", YOUTUBE_CHUNK_BYTES=300_000)
    assert Settings(FILMSTUDIO_ENV="test", YOUTUBE_CHUNK_BYTES=524288).youtube_chunk_bytes == 524288


def test_metadata_checks_name_every_bad_field() -> None:
    metadata = UploadMetadata(
        title="",
        description="<b>",
        tags=["ok", ""],
        category_id="film",
        privacy_status="public",
        publish_at=utcnow() + timedelta(days=1),
        language="not a tag",
        playlist_id="!",
    )
    with pytest.raises(errors.InvalidArgument) as caught:
        metadata.check()
    fields = {v.field for v in caught.value.violations}
    assert fields == {
        "title",
        "description",
        "tags",
        "category_id",
        "publish_time",
        "language",
        "playlist_id",
    }


def test_a_scheduled_private_video_round_trips_through_the_job() -> None:
    when = utcnow() + timedelta(days=2)
    metadata = UploadMetadata(
        title="Soon", privacy_status="private", publish_at=when, language="en"
    )
    metadata.check()
    again = metadata_from_job(metadata.to_job())
    assert again == metadata
    body = again.video_body()
    assert body["status"]["publishAt"].endswith("Z")
    assert body["snippet"]["defaultLanguage"] == "en"


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (_http_error(503), True),
        (_http_error(500), True),
        (_http_error(429), True),
        (_http_error(400), False),
        (_http_error(403), False),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (ValueError(), False),
    ],
)
def test_only_transient_failures_are_retried(error: Exception, retried: bool) -> None:
    assert bool(transient(error)) is retried


def test_backoff_gives_up_after_its_retries() -> None:
    backoff = Backoff(retries=2, base_seconds=0.0)
    backoff.wait(0, "503")
    backoff.wait(1, "503")
    with pytest.raises(RuntimeError, match="gave up after 2"):
        backoff.wait(2, "503")


@pytest.mark.parametrize(
    ("require_approval", "status", "allowed"),
    [
        (False, "completed", True),
        (False, "approved", True),
        (False, "pending_review", False),
        (False, "draft", False),
        (True, "completed", False),
        (True, "approved", True),
    ],
)
def test_moderation_decides_which_projects_may_be_uploaded(
    require_approval: bool, status: str, allowed: bool
) -> None:
    settings = Settings(FILMSTUDIO_ENV="test", YOUTUBE_REQUIRE_APPROVAL=require_approval)
    uploads = Uploads(None, settings, None, None, None)  # type: ignore[arg-type]
    assert (status in uploads.uploadable()) is allowed
    if allowed:
        _check_project_ready("youtube_upload", status, require_approval)
    else:
        with pytest.raises(errors.FailedPrecondition):
            _check_project_ready("youtube_upload", status, require_approval)
