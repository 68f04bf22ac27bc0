"""S3Storage: artifact storage on any S3 API, kept apart so that only its users import boto3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as S3ConnectionError

from services.common.errors import NotFound, Unavailable
from services.common.storage import (
    Storage,
    StoredObject,
    check_prefix,
    guess_content_type,
    validate_key,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3Storage(Storage):
    """Objects in one bucket of any S3 API (AWS, SeaweedFS, MinIO, R2) through boto3."""

    def __init__(self, bucket: str, client: S3Client) -> None:
        self.bucket = bucket
        self.client = client

    @classmethod
    def connect(
        cls,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> S3Storage:
        """Build the boto3 client; credentials default to boto3's usual chain."""
        config = Config(
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            # Path-style addressing and checksums only when required keep third-party S3 APIs
            # (SeaweedFS, MinIO) working; AWS accepts both.
            s3={"addressing_style": "path"} if endpoint_url else {},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )
        return cls(bucket, client)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (for tests and first runs)."""
        with _s3_errors(self.bucket):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as error:
                if _status(error) != 404:
                    raise
                self.client.create_bucket(Bucket=self.bucket)

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> StoredObject:
        """Upload `data` in one PUT."""
        content_type = content_type or guess_content_type(key)
        with _s3_errors(key):
            self.client.put_object(
                Bucket=self.bucket, Key=validate_key(key), Body=data, ContentType=content_type
            )
        return StoredObject(key, len(data), content_type)

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> StoredObject:
        """Upload a file, in parts when it is large."""
        content_type = content_type or guess_content_type(key)
        with _s3_errors(key):
            self.client.upload_file(
                str(path), self.bucket, validate_key(key), ExtraArgs={"ContentType": content_type}
            )
        return StoredObject(key, path.stat().st_size, content_type)

    def get_bytes(self, key: str) -> bytes:
        """Download the object into memory."""
        with _s3_errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=validate_key(key))
            return response["Body"].read()

    def get_file(self, key: str, path: Path) -> Path:
        """Download the object to `path`, in parts when it is large."""
        with _s3_errors(key):
            self.client.download_file(self.bucket, validate_key(key), str(path))
        return path

    def exists(self, key: str) -> bool:
        """HEAD the object."""
        try:
            with _s3_errors(key):
                self.client.head_object(Bucket=self.bucket, Key=validate_key(key))
        except NotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        """DELETE the object (S3 deletes are idempotent)."""
        with _s3_errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=validate_key(key))

    def list(self, prefix: str = "") -> list[str]:
        """Page through ListObjectsV2."""
        check_prefix(prefix)
        keys: list[str] = []
        with _s3_errors(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                keys.extend(item["Key"] for item in page.get("Contents", []) if "Key" in item)
        return sorted(keys)

    def url(self, key: str, *, expires_in: int = 3600) -> str:
        """Return a presigned GET URL."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": validate_key(key)},
            ExpiresIn=expires_in,
        )


def _status(error: ClientError) -> int:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    code = error.response.get("Error", {}).get("Code", "")
    return 404 if code in {"404", "NoSuchKey", "NoSuchBucket", "NotFound"} else int(status)


@contextmanager
def _s3_errors(key: str) -> Iterator[None]:
    """Turn boto3 failures into domain errors: 404 is NotFound, an unreachable S3 Unavailable."""
    try:
        yield
    except ClientError as error:
        if _status(error) == 404:
            raise NotFound(f"no stored object {key!r}", metadata={"key": key}) from None
        raise
    except (S3ConnectionError, HTTPClientError) as error:
        raise Unavailable(f"object storage is unreachable: {error}") from error
