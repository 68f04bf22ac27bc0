"""Fixtures for the pipeline unit tests: an in-memory Storage and the corpus screenplay."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.errors import NotFound
from services.common.storage import Storage, StoredObject, guess_content_type, validate_key
from tests.support.pipeline_corpus import SAMPLE_SCREENPLAY, corpus_file


class MemoryStorage(Storage):
    """A Storage fake that keeps objects in a dict."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> StoredObject:
        self.objects[validate_key(key)] = bytes(data)
        return StoredObject(key, len(data), content_type or guess_content_type(key))

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> StoredObject:
        return self.put_bytes(key, path.read_bytes(), content_type=content_type)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.objects[validate_key(key)]
        except KeyError:
            raise NotFound(key) from None

    def get_file(self, key: str, path: Path) -> Path:
        path.write_bytes(self.get_bytes(key))
        return path

    def exists(self, key: str) -> bool:
        return validate_key(key) in self.objects

    def delete(self, key: str) -> None:
        self.objects.pop(validate_key(key), None)

    def list(self, prefix: str = "") -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix))

    def url(self, key: str, *, expires_in: int = 3600) -> str:
        return f"memory://{validate_key(key)}"


@pytest.fixture
def memory_storage() -> MemoryStorage:
    """An empty in-memory Storage."""
    return MemoryStorage()


@pytest.fixture(scope="session")
def corpus_text() -> str:
    """The sample screenplay from shared/corpus (read-only)."""
    return corpus_file(SAMPLE_SCREENPLAY).read_text(encoding="utf-8")
