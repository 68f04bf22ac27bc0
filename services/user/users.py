"""The user record the domain hands out, and the validation of what users may set."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from services.common.errors import FieldViolation
from services.common.records import Record
from services.user.models import UserRow

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


@dataclass(frozen=True)
class User(Record):
    """An account as callers see it (never with its password hash)."""

    id: int
    email: str
    first_name: str
    last_name: str
    avatar_url: str
    locale: str
    role: str
    state: str
    email_verified: bool
    tier: str
    created_at: datetime | None
    updated_at: datetime | None
    last_login_at: datetime | None

    @property
    def name(self) -> str:
        """Return the resource name, "users/{id}" ("" for an undisclosed account)."""
        return f"users/{self.id}" if self.id else ""


def to_user(row: UserRow) -> User:
    """Copy a row into a record."""
    return User(
        id=row.id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        avatar_url=row.avatar_url,
        locale=row.locale,
        role=row.role,
        state=row.state,
        email_verified=row.email_verified,
        tier=row.tier,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_login_at=row.last_login_at,
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
