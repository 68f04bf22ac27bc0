"""Where the client keeps a session's tokens: one 0600 JSON file under the user's config dir."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class StoredSession:
    """The tokens of one signed-in session on one server."""

    access_token: str
    refresh_token: str
    access_expires_at: float
    email: str = ""


def config_dir() -> Path:
    """Return the client's config directory ($XDG_CONFIG_HOME/filmstudio, else ~/.config/...)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "filmstudio"


def credentials_path() -> Path:
    """Return the credentials file (FILMSTUDIO_CREDENTIALS overrides it)."""
    override = os.environ.get("FILMSTUDIO_CREDENTIALS")
    return Path(override) if override else config_dir() / "credentials.json"


def _read_all() -> dict[str, Any]:
    try:
        data = json.loads(credentials_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load(server: str) -> StoredSession | None:
    """Return the session stored for `server`, if any."""
    entry = _read_all().get(server)
    if not isinstance(entry, dict):
        return None
    try:
        return StoredSession(**entry)
    except TypeError:
        return None


def _write_all(data: dict[str, Any]) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    # Created 0600 from the start: the refresh token is never readable by others, even briefly.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle, indent=2)
    os.chmod(temporary, 0o600)  # an existing file keeps its old mode through O_CREAT
    os.replace(temporary, path)


def save(server: str, session: StoredSession) -> None:
    """Store the session for `server`, keeping other servers' sessions."""
    data = _read_all()
    data[server] = asdict(session)
    _write_all(data)


def forget(server: str) -> None:
    """Remove the session stored for `server`."""
    data = _read_all()
    if data.pop(server, None) is not None:
        _write_all(data)
