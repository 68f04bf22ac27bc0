"""LocalStorage, the embedded default: round trips, listing, and keys that cannot escape."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from services.common.config import Settings
from services.common.errors import InvalidArgument, NotFound
from services.common.storage import LocalStorage, content_key
from services.common.storage_setup import storage_from_settings

BAD_KEYS = ["../escape", "/etc/passwd", "a/../../b", "a//b", ".hidden", "a/./b", "", "a\\b",
            "a/b/", "k" * 600, "jobs/x y", "jobs/\x00"]  # fmt: skip


def test_bytes_and_files_round_trip(local_storage: LocalStorage, tmp_path: Path) -> None:
    stored = local_storage.put_bytes("jobs/j1/voice/timings.json", b'{"a": 1}')
    assert (stored.size, stored.content_type) == (8, "application/json")
    assert local_storage.get_bytes("jobs/j1/voice/timings.json") == b'{"a": 1}'
    source = tmp_path / "in.wav"
    source.write_bytes(b"RIFF" + bytes(100))
    local_storage.put_file("jobs/j1/voice/dialogue.wav", source)
    copy = local_storage.get_file("jobs/j1/voice/dialogue.wav", tmp_path / "out.wav")
    assert copy.read_bytes() == source.read_bytes()


def test_overwrite_replaces_the_object_and_leaves_no_temporary_files(
    local_storage: LocalStorage,
) -> None:
    local_storage.put_bytes("jobs/j1/a.txt", b"first")
    local_storage.put_bytes("jobs/j1/a.txt", b"second")
    assert local_storage.get_bytes("jobs/j1/a.txt") == b"second"
    assert [p.name for p in (local_storage.root / "jobs/j1").iterdir()] == ["a.txt"]


def test_listing_filters_by_prefix_and_delete_is_idempotent(local_storage: LocalStorage) -> None:
    for key in ("jobs/j1/a", "jobs/j1/sub/b", "jobs/j10/c", "projects/p/d"):
        local_storage.put_bytes(key, b"x")
    assert local_storage.list("jobs/j1/") == ["jobs/j1/a", "jobs/j1/sub/b"]
    assert local_storage.list("jobs/j1") == ["jobs/j1/a", "jobs/j1/sub/b", "jobs/j10/c"]
    assert local_storage.list("nothing/") == []
    local_storage.delete("jobs/j1/a")
    local_storage.delete("jobs/j1/a")
    assert not local_storage.exists("jobs/j1/a")
    assert local_storage.delete_prefix("jobs/") == 2
    assert local_storage.list() == ["projects/p/d"]


def test_missing_object_is_not_found(local_storage: LocalStorage) -> None:
    with pytest.raises(NotFound):
        local_storage.get_bytes("jobs/none/x.json")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_that_could_escape_the_root_are_invalid_argument(
    local_storage: LocalStorage, key: str
) -> None:
    with pytest.raises(InvalidArgument):
        local_storage.put_bytes(key, b"x")
    with pytest.raises(InvalidArgument):
        local_storage.get_bytes(key)
    assert not (local_storage.root.parent / "escape").exists()


def test_a_symlink_planted_in_the_root_cannot_lead_outside(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "root")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(outside)
    with pytest.raises(InvalidArgument):
        storage.get_bytes("link/secret")


def test_content_addressed_objects_are_stored_once_under_their_digest(
    local_storage: LocalStorage,
) -> None:
    digest = hashlib.sha256(b"script").hexdigest()
    first = local_storage.put_content_addressed(b"script", suffix=".fountain")
    second = local_storage.put_content_addressed(b"script", suffix=".fountain")
    assert first.key == second.key == content_key(digest, ".fountain")
    assert first.key == f"sha256/{digest[:2]}/{digest}.fountain"
    with pytest.raises(InvalidArgument):
        content_key("not-a-digest")


def test_url_is_a_file_url_to_the_object(local_storage: LocalStorage) -> None:
    local_storage.put_bytes("jobs/j1/a.txt", b"x")
    assert local_storage.url("jobs/j1/a.txt") == (local_storage.root / "jobs/j1/a.txt").as_uri()


def test_settings_without_a_bucket_store_under_the_var_dir(tmp_path: Path) -> None:
    storage = storage_from_settings(Settings(FILMSTUDIO_VAR_DIR=str(tmp_path)))
    assert isinstance(storage, LocalStorage)
    assert storage.root == (tmp_path / "artifacts").resolve()
