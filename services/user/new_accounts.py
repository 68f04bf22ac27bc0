"""What else happens when an account is created: hooks the composition root wires in.

The user domain knows no other domain; the studio hands it, for instance, the credits
domain's first allowance, so a newcomer's first job is not refused for want of credits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Hook = Callable[[int], Awaitable[object]]


@dataclass(frozen=True)
class NewAccountHooks:
    """Work to run, after its commit, for each account created (given the new user's id)."""

    hooks: tuple[Hook, ...] = ()

    async def created(self, user_id: int) -> None:
        """Run every hook; a failure is logged, never the caller's, as periodic work catches up."""
        for hook in self.hooks:
            try:
                await hook(user_id)
            except Exception:
                log.exception("new-account work failed", extra={"user_id": user_id})
