"""An upload's metadata and its checks, as YouTube documents the limits."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from services.common import errors
from services.common.db import utcnow
from services.common.errors import FieldViolation
from services.common.records import Record

PRIVACY = ("private", "unlisted", "public")
_PLAYLIST = re.compile(r"[A-Za-z0-9_-]{2,64}")
_LANGUAGE = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*")
MAX_TITLE = 100
MAX_DESCRIPTION_BYTES = 5000
MAX_TAG_CHARS = 500


@dataclass(frozen=True)
class UploadMetadata(Record):
    """What YouTube shows for the video, and where it goes."""

    title: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    category_id: str = "1"
    privacy_status: str = "private"
    publish_at: datetime | None = None
    made_for_kids: bool = False
    language: str = ""
    playlist_id: str = ""

    def check(self) -> None:
        """Raise InvalidArgument with one violation per bad field."""
        found: list[FieldViolation] = []
        if not self.title.strip():
            found.append(FieldViolation("title", "is required"))
        elif len(self.title) > MAX_TITLE or "<" in self.title or ">" in self.title:
            found.append(FieldViolation("title", "must be at most 100 characters, without < or >"))
        description = self.description.encode()
        if len(description) > MAX_DESCRIPTION_BYTES or b"<" in description or b">" in description:
            found.append(
                FieldViolation("description", "must be at most 5000 bytes, without < or >")
            )
        # YouTube counts a tag with a space as if quoted, plus a comma between tags.
        tag_chars = sum(len(t) + (2 if " " in t else 0) for t in self.tags) + len(self.tags) - 1
        if (
            any(not t.strip() or "<" in t or ">" in t for t in self.tags)
            or tag_chars > MAX_TAG_CHARS
        ):
            found.append(
                FieldViolation("tags", "must be non-empty and at most 500 characters in all")
            )
        if not self.category_id.isdigit() or len(self.category_id) > 4:
            found.append(FieldViolation("category_id", "must be a YouTube category id, e.g. 1"))
        if self.privacy_status not in PRIVACY:
            found.append(FieldViolation("privacy_status", "must be PRIVATE, UNLISTED or PUBLIC"))
        if self.publish_at is not None:
            if self.privacy_status != "private":
                found.append(
                    FieldViolation("publish_time", "needs privacy_status PRIVATE (YouTube's rule)")
                )
            elif self.publish_at <= utcnow():
                found.append(FieldViolation("publish_time", "must be in the future"))
        if self.language and not _LANGUAGE.fullmatch(self.language):
            found.append(FieldViolation("language", "must be a BCP-47 language tag, e.g. en"))
        if self.playlist_id and not _PLAYLIST.fullmatch(self.playlist_id):
            found.append(FieldViolation("playlist_id", "is not a YouTube playlist id"))
        if found:
            raise errors.InvalidArgument(found)

    def to_job(self) -> dict[str, Any]:
        """Return the metadata as job parameters (JSON)."""
        values = asdict(self)
        values["publish_at"] = self.publish_at.isoformat() if self.publish_at else ""
        return values

    def video_body(self) -> dict[str, Any]:
        """Return the videos.insert body."""
        snippet: dict[str, Any] = {
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "categoryId": self.category_id,
        }
        if self.language:
            snippet["defaultLanguage"] = self.language
            snippet["defaultAudioLanguage"] = self.language
        status: dict[str, Any] = {
            "privacyStatus": self.privacy_status,
            "selfDeclaredMadeForKids": self.made_for_kids,
        }
        if self.publish_at is not None:
            status["publishAt"] = self.publish_at.isoformat().replace("+00:00", "Z")
        return {"snippet": snippet, "status": status}


def metadata_from_job(values: dict[str, Any]) -> UploadMetadata:
    """Rebuild the metadata a job carries."""
    publish = values.get("publish_at") or ""
    return UploadMetadata(
        title=str(values.get("title", "")),
        description=str(values.get("description", "")),
        tags=[str(t) for t in values.get("tags") or []],
        category_id=str(values.get("category_id") or "1"),
        privacy_status=str(values.get("privacy_status") or "private"),
        publish_at=datetime.fromisoformat(publish) if publish else None,
        made_for_kids=bool(values.get("made_for_kids")),
        language=str(values.get("language", "")),
        playlist_id=str(values.get("playlist_id", "")),
    )
