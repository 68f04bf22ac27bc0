"""The rules of a project: allowed values, field validation, and the status machine."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from services.common import errors
from services.common.errors import FieldViolation

STYLES = ("cinematic", "documentary", "noir", "anime", "watercolor", "sketch")
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
RESOLUTIONS = ("720p", "1080p")
MIN_DURATION, MAX_DURATION = 10, 600
MAX_TITLE = 200
MAX_SCRIPT_BYTES = 1024 * 1024
_VOICE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

DEFAULTS: dict[str, Any] = {
    "style": "cinematic",
    "target_duration_seconds": 90,
    "aspect_ratio": "16:9",
    "resolution": "1080p",
    "voice": "male_narrator",
}
EDITABLE = ("title", "script", *DEFAULTS)
# A new project is described by the same fields an update may change.
CREATE_FIELDS = EDITABLE

# The status machine, in one place. Cancelling a queued job fails its generation (QUEUED ->
# FAILED), so that the project can be queued again like any failed one. A COMPLETED project
# goes straight to PUBLISHED when moderation is off (the upload job checks the setting).
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"queued"}),
    "queued": frozenset({"generating", "failed"}),
    "generating": frozenset({"completed", "failed"}),
    "failed": frozenset({"queued"}),
    "completed": frozenset({"pending_review", "published"}),
    "pending_review": frozenset({"approved", "rejected"}),
    "approved": frozenset({"published"}),
    "rejected": frozenset(),
    "published": frozenset(),
}
STATUSES = tuple(TRANSITIONS)
# While a render runs its inputs must not change; after approval, changes would skip review.
EDITABLE_STATUSES = frozenset({"draft", "completed", "failed", "rejected"})
DELETABLE_STATUSES = EDITABLE_STATUSES | {"published", "approved", "pending_review"}


def check_transition(current: str, target: str) -> None:
    """Raise FailedPrecondition unless the machine allows current -> target."""
    if target not in TRANSITIONS:
        raise errors.InvalidArgument.field("status", f"must be one of {', '.join(STATUSES)}")
    if target not in TRANSITIONS.get(current, frozenset()):
        raise errors.FailedPrecondition(
            f"a project cannot go from {current.upper()} to {target.upper()}",
            reason="INVALID_STATUS_TRANSITION",
            metadata={"from": current.upper(), "to": target.upper()},
        )


def update_paths(mask: Iterable[str]) -> list[str]:
    """Return the fields an update mask names; `*` alone names every editable field."""
    paths = list(mask)
    return list(EDITABLE) if paths == ["*"] else paths


def _text_violations(
    value: str, field: str, *, maximum: int, required: bool
) -> list[FieldViolation]:
    if required and not value.strip():
        return [FieldViolation(field, "is required", "REQUIRED")]
    if len(value) > maximum:
        return [FieldViolation(field, f"must be at most {maximum} characters", "TOO_LONG")]
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return [FieldViolation(field, "must not contain control characters", "INVALID_CHARACTERS")]
    return []


def _choice(value: str, allowed: tuple[str, ...], field: str) -> list[FieldViolation]:
    if value not in allowed:
        return [FieldViolation(field, f"must be one of {', '.join(allowed)}", "INVALID_VALUE")]
    return []


def violations(fields: dict[str, Any], prefix: str = "project.") -> list[FieldViolation]:
    """Check every given project field; return one violation per bad field."""
    found: list[FieldViolation] = []
    for name, value in fields.items():
        field = prefix + name
        if name == "title":
            found += _text_violations(value, field, maximum=MAX_TITLE, required=True)
        elif name == "script":
            if len(value.encode()) > MAX_SCRIPT_BYTES:
                found.append(FieldViolation(field, "must be at most 1 MB of UTF-8", "TOO_LONG"))
            elif "\x00" in value:
                found.append(
                    FieldViolation(field, "must be text, not binary", "INVALID_CHARACTERS")
                )
        elif name == "style":
            found += _choice(value, STYLES, field)
        elif name == "aspect_ratio":
            found += _choice(value, ASPECT_RATIOS, field)
        elif name == "resolution":
            found += _choice(value, RESOLUTIONS, field)
        elif name == "target_duration_seconds":
            if not isinstance(value, int) or not MIN_DURATION <= value <= MAX_DURATION:
                found.append(
                    FieldViolation(
                        field, f"must be {MIN_DURATION} to {MAX_DURATION} seconds", "OUT_OF_RANGE"
                    )
                )
        elif name == "voice":
            if not _VOICE.match(value):
                found.append(
                    FieldViolation(
                        field, "must be a voice name like male_narrator", "INVALID_VALUE"
                    )
                )
        else:
            found.append(FieldViolation(field, "cannot be set", "NOT_SETTABLE"))
    return found


def normalise(fields: dict[str, Any]) -> dict[str, Any]:
    """Trim titles; keep everything else as given."""
    return {k: v.strip() if k == "title" and isinstance(v, str) else v for k, v in fields.items()}
