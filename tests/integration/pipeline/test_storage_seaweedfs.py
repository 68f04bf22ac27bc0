"""S3Storage against a real S3 API (SeaweedFS): round trips, listing, presigned URLs, errors."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from services.common.config import Settings
from services.common.errors import InvalidArgument, NotFound, Unavailable
from services.common.s3_storage import S3Storage
from services.common.storage_setup import storage_from_settings
from tests.support.seaweed import SeaweedServer


def test_bytes_round_trip_with_content_type(s3_storage: S3Storage) -> None:
    s3_storage.put_bytes("jobs/j1/subtitles/subtitles.vtt", b"WEBVTT\n")
    assert s3_storage.get_bytes("jobs/j1/subtitles/subtitles.vtt") == b"WEBVTT\n"
    head = s3_storage.client.head_object(
        Bucket=s3_storage.bucket, Key="jobs/j1/subtitles/subtitles.vtt"
    )
    assert head["ContentType"] == "text/vtt"


def test_large_files_round_trip_in_parts(s3_storage: S3Storage, tmp_path: Path) -> None:
    source = tmp_path / "big.wav"
    source.write_bytes(bytes(range(256)) * (40 * 1024))  # 10 MiB: above the multipart threshold
    stored = s3_storage.put_file("jobs/j1/voice/dialogue.wav", source)
    assert stored.size == source.stat().st_size
    copy = s3_storage.get_file("jobs/j1/voice/dialogue.wav", tmp_path / "copy.wav")
    assert copy.read_bytes() == source.read_bytes()


def test_listing_exists_and_delete(s3_storage: S3Storage) -> None:
    for key in ("jobs/j1/a", "jobs/j1/sub/b", "jobs/j10/c"):
        s3_storage.put_bytes(key, b"x")
    assert s3_storage.list("jobs/j1/") == ["jobs/j1/a", "jobs/j1/sub/b"]
    assert s3_storage.exists("jobs/j10/c")
    s3_storage.delete("jobs/j10/c")
    s3_storage.delete("jobs/j10/c")
    assert not s3_storage.exists("jobs/j10/c")
    assert s3_storage.delete_prefix("jobs/j1/") == 2
    assert s3_storage.list() == []


def test_missing_object_is_not_found(s3_storage: S3Storage, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        s3_storage.get_bytes("jobs/none/x.json")
    with pytest.raises(NotFound):
        s3_storage.get_file("jobs/none/x.json", tmp_path / "x")


def test_presigned_url_serves_the_object_without_credentials(s3_storage: S3Storage) -> None:
    s3_storage.put_bytes("jobs/j1/thumb.txt", b"hello")
    url = s3_storage.url("jobs/j1/thumb.txt", expires_in=60)
    assert "Signature" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback URL
        assert response.read() == b"hello"


def test_content_addressed_upload_is_skipped_when_present(s3_storage: S3Storage) -> None:
    first = s3_storage.put_content_addressed(b"INT. LAB - DAY", suffix=".fountain")
    second = s3_storage.put_content_addressed(b"INT. LAB - DAY", suffix=".fountain")
    assert first.key == second.key
    assert s3_storage.list("sha256/") == [first.key]


def test_traversal_keys_are_refused_before_any_request(s3_storage: S3Storage) -> None:
    with pytest.raises(InvalidArgument):
        s3_storage.put_bytes("../other-bucket/x", b"x")
    with pytest.raises(InvalidArgument):
        s3_storage.list("../")


def test_wrong_credentials_are_refused(seaweed: SeaweedServer, s3_storage: S3Storage) -> None:
    intruder = seaweed.storage(s3_storage.bucket, secret="wrong-secret")
    with pytest.raises(ClientError) as raised:
        intruder.put_bytes("jobs/j1/x", b"x")
    assert raised.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_an_unreachable_endpoint_is_unavailable() -> None:
    client = boto3.client(
        "s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
        aws_access_key_id="k", aws_secret_access_key="s",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )  # fmt: skip
    with pytest.raises(Unavailable):
        S3Storage("bucket", client).get_bytes("jobs/j1/x")


def test_settings_with_a_bucket_give_s3_storage(seaweed: SeaweedServer, s3_storage) -> None:
    settings = Settings(
        S3_BUCKET_NAME=s3_storage.bucket, S3_ENDPOINT_URL=seaweed.endpoint,
        AWS_ACCESS_KEY_ID=seaweed.access_key, AWS_SECRET_ACCESS_KEY=seaweed.secret_key,
    )  # fmt: skip
    storage = storage_from_settings(settings)
    assert isinstance(storage, S3Storage)
    storage.put_bytes("jobs/j1/from-settings", b"ok")
    assert s3_storage.get_bytes("jobs/j1/from-settings") == b"ok"
