"""The rules of accounts: roles and states, and the validation of what users may set."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

from services.common import errors
from services.common.errors import FieldViolation

ROLES = ("user", "admin")
STATES = ("active", "suspended")
MAX_EMAIL = 254
MAX_NAME = 100
# RFC 5322 is far wider; this is what a mail provider will deliver to.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
# BCP 47 in practice: language, optional script, region or variants.
_LOCALE = re.compile(
    r"^[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|\d{3}))?(?:-[A-Za-z0-9]{5,8})*$"
)


def normalize_email(email: str) -> str:
    """Return the canonical form of an address: trimmed, NFKC, lower-case."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def email_violations(email: str, field: str = "email") -> list[FieldViolation]:
    """Check an (already normalised) email address."""
    if not email:
        return [FieldViolation(field, "is required", "REQUIRED")]
    if len(email) > MAX_EMAIL or not _EMAIL.match(email):
        return [FieldViolation(field, "is not a valid email address", "INVALID_EMAIL")]
    return []


def name_from_email(email: str) -> str:
    """Return a stand-in name from a (normalised) address: its local part, less any +tag."""
    local = email.partition("@")[0].partition("+")[0]
    return "".join(ch for ch in local if not unicodedata.category(ch).startswith("C"))[:MAX_NAME]


def name_violations(value: str, field: str) -> list[FieldViolation]:
    """Check a person's name: printable, at most 100 characters."""
    if len(value) > MAX_NAME:
        return [FieldViolation(field, f"must be at most {MAX_NAME} characters", "TOO_LONG")]
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        return [FieldViolation(field, "must not contain control characters", "INVALID_CHARACTERS")]
    return []


def avatar_violations(value: str, field: str = "avatar_url") -> list[FieldViolation]:
    """Check an avatar URL: empty, or an https URL with a host, at most 2048 characters."""
    if not value:
        return []
    parsed = urlparse(value)
    if len(value) > 2048 or parsed.scheme != "https" or not parsed.hostname:
        return [FieldViolation(field, "must be an https URL", "INVALID_URL")]
    return []


def locale_violations(value: str, field: str = "locale") -> list[FieldViolation]:
    """Check a BCP 47 language tag such as "en-US"."""
    if not _LOCALE.match(value) or len(value) > 35:
        return [FieldViolation(field, "must be a BCP 47 language tag like en-US", "INVALID_LOCALE")]
    return []


# What a profile update may change, and how each value is checked.
PROFILE_CHECKS: dict[str, Callable[[str], list[FieldViolation]]] = {
    "first_name": lambda v: name_violations(v, "user.first_name"),
    "last_name": lambda v: name_violations(v, "user.last_name"),
    "avatar_url": lambda v: avatar_violations(v, "user.avatar_url"),
    "locale": lambda v: locale_violations(v, "user.locale"),
}
PROFILE_FIELDS = tuple(PROFILE_CHECKS)


def profile_changes(changes: Mapping[str, Any]) -> dict[str, str]:
    """Return the trimmed profile changes, or raise InvalidArgument naming what is wrong."""
    if not changes:
        raise errors.InvalidArgument.field("update_mask", "must name the fields to change")
    unknown = [field for field in changes if field not in PROFILE_CHECKS]
    if unknown:
        raise errors.InvalidArgument(
            [FieldViolation("update_mask", f"{field} cannot be updated") for field in unknown]
        )
    cleaned = {field: str(value).strip() for field, value in changes.items()}
    violations = [v for field, value in cleaned.items() for v in PROFILE_CHECKS[field](value)]
    if violations:
        raise errors.InvalidArgument(violations)
    return cleaned
