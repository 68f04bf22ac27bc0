"""What the pipeline needs from outside it: a store for artifacts, an error for bad input, keys.

The stages know no runtime. Any object with the store's methods holds their artifacts (the
studio's local and S3 storages fit as they are), and bad input raises StageInputError, which the
caller turns into its own error. Keys follow the studio's storage rules: `/`-separated segments
of `[A-Za-z0-9._-]`, each starting with a letter or digit, so no key names `..`, an absolute path
or a hidden file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MAX_KEY_LENGTH = 512
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}"
_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")


class StoredArtifact(Protocol):
    """An object a store wrote: its key, size in bytes and MIME type."""

    @property
    def key(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def content_type(self) -> str: ...


class ArtifactStore(Protocol):
    """Where stages write their artifacts; safe to share between threads."""

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str | None = None
    ) -> StoredArtifact:
        """Store `data` under `key`, replacing any previous object atomically."""
        ...

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> StoredArtifact:
        """Store the file at `path` under `key`."""
        ...

    def put_content_addressed(
        self, data: bytes, *, suffix: str = "", content_type: str | None = None
    ) -> StoredArtifact:
        """Store `data` under its SHA-256 key, writing nothing if it is already there."""
        ...


@dataclass(frozen=True)
class InputViolation:
    """One invalid input field of a stage: its name, what is wrong, and an optional reason."""

    field: str
    description: str
    reason: str = ""


class StageInputError(Exception):
    """A stage's input or options are invalid; `violations` names each bad field."""

    def __init__(self, violations: Iterable[InputViolation] | InputViolation) -> None:
        if isinstance(violations, InputViolation):
            violations = [violations]
        self.violations = list(violations)
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        self.message = f"invalid argument: {summary}"
        super().__init__(self.message)

    @classmethod
    def field(cls, field: str, description: str, reason: str = "") -> StageInputError:
        """Build the error for a single bad field."""
        return cls(InputViolation(field, description, reason))


def validate_key(key: str, *, field: str = "key") -> str:
    """Return `key` if it is a safe storage key, else raise StageInputError."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise StageInputError.field(field, f"not a valid storage key: {key[:80]!r}", "INVALID_KEY")
    return key


def join_key(*parts: str) -> str:
    """Join key fragments with `/` and validate the result."""
    return validate_key("/".join(part.strip("/") for part in parts if part.strip("/")))


class ToolFailed(RuntimeError):
    """An external program (ffmpeg) is missing or failed; carries its stderr tail."""


class ReadableStore(ArtifactStore, Protocol):
    """An artifact store a stage can also read earlier stages' files from (video, thumbnail)."""

    def get_file(self, key: str, path: Path) -> Path:
        """Copy the object at `key` to `path` and return `path`."""
        ...
