"""Fixtures for pipeline and storage integration tests: SeaweedFS, storages, the corpus."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.s3_storage import S3Storage
from services.common.storage import LocalStorage
from tests.support.pipeline_corpus import SAMPLE_SCREENPLAY, corpus_file
from tests.support.seaweed import SeaweedServer, start_seaweed


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS server (master, volume, filer, S3) for the session, killed at the end."""
    server = start_seaweed(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def s3_storage(seaweed: SeaweedServer) -> S3Storage:
    """S3 storage on a fresh bucket of the test server."""
    return seaweed.new_bucket(f"test-{secrets.token_hex(6)}")


@pytest.fixture
def local_storage(tmp_path: Path) -> LocalStorage:
    """Local storage under the test's temporary directory."""
    return LocalStorage(tmp_path / "artifacts")


@pytest.fixture(scope="session")
def corpus_text() -> str:
    """The sample screenplay from shared/corpus (read-only)."""
    return corpus_file(SAMPLE_SCREENPLAY).read_text(encoding="utf-8")
