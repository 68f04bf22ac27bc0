"""Who acts, and the one rule of who may act for which user."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.context import Principal


@dataclass(frozen=True)
class Caller:
    """Who asks: a user id, and whether they may act for every user (admins and services)."""

    user_id: int | None
    is_admin: bool = False
    actor: str = ""

    @property
    def name(self) -> str:
        """Return the actor recorded in histories."""
        return self.actor or (f"users/{self.user_id}" if self.user_id else "system")

    def may_act_for(self, user_id: int | None) -> bool:
        """Tell whether the caller may see and change what the user owns."""
        return self.is_admin or (user_id is not None and user_id == self.user_id)


SYSTEM = Caller(None, is_admin=True, actor="system")


def caller_of(principal: Principal) -> Caller:
    """Describe an authenticated principal to the domains: services and admins act for all."""
    user_id = (
        int(principal.subject) if principal.subject.isdigit() and not principal.is_service else None
    )
    return Caller(user_id, principal.is_admin or principal.is_service, principal.resource_name)
