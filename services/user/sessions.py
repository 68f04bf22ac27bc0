"""Temporary: DatabaseSessionCheck moved to `services.user.session_check` (wiring switches next)."""

from __future__ import annotations

from services.user.session_check import DatabaseSessionCheck

__all__ = ["DatabaseSessionCheck"]
