"""The most common passwords, which a new password must not be (OWASP ASVS 5.0, 6.2.4)."""

from __future__ import annotations

import functools
import logging
from importlib import resources

log = logging.getLogger(__name__)

_LIST = "common_passwords.txt"


@functools.cache
def _common_passwords() -> frozenset[str]:
    """Load the shipped list once, on first use, so importing the module stays cheap."""
    text = (resources.files("services.user") / "data" / _LIST).read_text(encoding="utf-8")
    entries = frozenset(
        line.lower() for line in text.splitlines() if line and not line.startswith("#")
    )
    log.debug("loaded %d common passwords", len(entries))
    return entries


def common_password_count() -> int:
    """Return how many distinct passwords the list holds."""
    return len(_common_passwords())


def is_common_password(password: str) -> bool:
    """Tell whether the password, ignoring case, is on the common-passwords list."""
    return password.lower() in _common_passwords()
