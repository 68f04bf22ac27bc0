"""Development-only secrets for `make up`, made once under var/ (mode 600) and never committed."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

FILE_NAME = "secrets.env"


def _token_key() -> str:
    raw = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"dev1:{raw}"


def _fresh() -> dict[str, str]:
    return {
        "JWT_SECRET": secrets.token_urlsafe(48),
        "YOUTUBE_TOKEN_KEYS": _token_key(),
        "PAYMENT_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        # The identity of the SeaweedFS that `make up` starts when no S3 is configured.
        "SEAWEED_ACCESS_KEY": f"filmstudio-{secrets.token_hex(4)}",
        "SEAWEED_SECRET_KEY": secrets.token_urlsafe(32),
    }


def read(path: Path) -> dict[str, str]:
    """Return the KEY=VALUE lines of a secrets file."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def load_or_create(directory: Path) -> tuple[dict[str, str], Path | None]:
    """Return the secrets, and the file's path when this call created it (to say so)."""
    path = directory / FILE_NAME
    if path.exists():
        found = read(path)
        missing = {key: value for key, value in _fresh().items() if key not in found}
        if not missing:
            return found, None
        found.update(missing)  # an older file: add what it lacks, keep what it has
        _write(path, found)
        return found, None
    directory.mkdir(parents=True, exist_ok=True)
    values = _fresh()
    _write(path, values)
    return values, path


def _write(path: Path, values: dict[str, str]) -> None:
    header = "# Development-only secrets made by `make up`; never use them in production.\n"
    text = header + "".join(f"{key}={value}\n" for key, value in values.items())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)
