"""Artifact storage: one interface over a local directory (embedded default) and any S3 API.

Keys are `/`-separated segments of `[A-Za-z0-9._-]`, each starting with a letter or digit, so
no key can name `..`, an absolute path or a hidden file. Job artifacts live under
`jobs/<job id>/...`; immutable inputs under `sha256/<xx>/<digest><suffix>` (content-addressed).
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as S3ConnectionError

from services.common.config import Settings
from services.common.errors import FieldViolation, InvalidArgument, NotFound, Unavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 512
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}"
_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_SUFFIX = re.compile(r"(?:\.[A-Za-z0-9]{1,16}){0,2}")
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def validate_key(key: str, *, field: str = "key") -> str:
    """Return `key` if it is a safe storage key, else raise InvalidArgument."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidArgument(
            [FieldViolation(field, f"not a valid storage key: {key[:80]!r}", "INVALID_KEY")]
        )
    return key


def join_key(*parts: str) -> str:
    """Join key fragments with `/` and validate the result."""
    return validate_key("/".join(part.strip("/") for part in parts if part.strip("/")))


def content_key(digest: str, suffix: str = "") -> str:
    """Return the content-addressed key of a SHA-256 hex digest."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest) or not _SUFFIX.fullmatch(suffix):
        raise InvalidArgument.field("digest", "expected a SHA-256 hex digest and a short suffix")
    return f"sha256/{digest[:2]}/{digest}{suffix}"


def guess_content_type(key: str) -> str:
    """Guess a MIME type from the key's extension."""
    extra = {".vtt": "text/vtt", ".srt": "application/x-subrip", ".fountain": "text/plain"}
    suffix = Path(key).suffix.lower()
    return extra.get(suffix) or mimetypes.guess_type(key)[0] or DEFAULT_CONTENT_TYPE


@dataclass(frozen=True)
class StoredObject:
    """An object written to storage: its key, size in bytes and MIME type."""

    key: str
    size: int
    content_type: str


class Storage(ABC):
    """Where stages read inputs and write artifacts; safe to share between threads."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> StoredObject:
        """Store `data` under `key`, replacing any previous object atomically."""

    @abstractmethod
    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> StoredObject:
        """Store the file at `path` under `key`."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Return the object's content; NotFound if there is none."""

    @abstractmethod
    def get_file(self, key: str, path: Path) -> Path:
        """Copy the object to `path` and return it; NotFound if there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under `key`."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object if it exists."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Return the sorted keys that start with `prefix`."""

    @abstractmethod
    def url(self, key: str, *, expires_in: int = 3600) -> str:
        """Return a URL a client can fetch the object from (presigned for S3)."""

    def put_content_addressed(
        self, data: bytes, *, suffix: str = "", content_type: str | None = None
    ) -> StoredObject:
        """Store `data` under its SHA-256 key, writing nothing if it is already there."""
        key = content_key(hashlib.sha256(data).hexdigest(), suffix)
        if self.exists(key):
            return StoredObject(key, len(data), content_type or guess_content_type(key))
        return self.put_bytes(key, data, content_type=content_type)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` and return how many there were."""
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)


def _check_prefix(prefix: str) -> str:
    # A listing prefix may end in "/" or a partial segment; the rest must be a valid key.
    stem = prefix.rstrip("/")
    if stem:
        validate_key(stem, field="prefix")
    return prefix


class LocalStorage(Storage):
    """Objects as files under one root directory (the embedded default)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        # The key syntax already forbids "..", but a symlink planted inside the root must not
        # lead outside it either.
        if not path.is_relative_to(self.root):
            raise InvalidArgument.field("key", f"{key!r} resolves outside the storage root")
        return path

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> StoredObject:
        """Write `data` to a temporary file beside the target and rename it into place."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return StoredObject(key, len(data), content_type or guess_content_type(key))

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> StoredObject:
        """Copy the file into the store."""
        return self.put_bytes(key, path.read_bytes(), content_type=content_type)

    def get_bytes(self, key: str) -> bytes:
        """Read the object's file."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"no stored object {key!r}", metadata={"key": key}) from None

    def get_file(self, key: str, path: Path) -> Path:
        """Copy the object's file to `path`."""
        path.write_bytes(self.get_bytes(key))
        return path

    def exists(self, key: str) -> bool:
        """Tell whether the object's file exists."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the object's file."""
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> list[str]:
        """Walk the deepest directory the prefix names and filter by the prefix."""
        _check_prefix(prefix)
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        keys = (path.relative_to(self.root).as_posix() for path in base.rglob("*"))
        return sorted(
            k
            for k in keys
            if k.startswith(prefix) and _KEY.fullmatch(k) and (self.root / k).is_file()
        )

    def url(self, key: str, *, expires_in: int = 3600) -> str:
        """Return a file:// URL (local files do not expire)."""
        return self._path(key).as_uri()


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
        _check_prefix(prefix)
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


def storage_from_settings(settings: Settings) -> Storage:
    """Return S3 storage when S3_BUCKET_NAME is set, else a directory under the var dir."""
    if settings.s3_bucket_name:
        secret = settings.aws_secret_access_key
        return S3Storage.connect(
            settings.s3_bucket_name,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.aws_region,
            access_key_id=settings.aws_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
    if settings.is_production:
        log.warning("S3_BUCKET_NAME is not set: artifacts stay on this machine's disk")
    return LocalStorage(settings.var_dir / "artifacts")
