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
from dataclasses import dataclass
from pathlib import Path

from services.common.errors import FieldViolation, InvalidArgument, NotFound

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


def check_prefix(prefix: str) -> str:
    """Return a listing prefix once every segment but a trailing partial one is checked."""
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
        check_prefix(prefix)
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
