"""Per-call context: the request id and the caller, visible to logs and servicers."""

from __future__ import annotations

import enum
from contextvars import ContextVar
from dataclasses import dataclass

from services.common import errors


class PrincipalKind(enum.StrEnum):
    """What kind of caller presented the token."""

    USER = "user"
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user (with a role) or an internal service."""

    kind: PrincipalKind
    subject: str
    role: str = "user"
    session_id: str | None = None
    token_id: str | None = None

    @property
    def is_admin(self) -> bool:
        """Tell whether the caller is a user with the admin role."""
        return self.kind is PrincipalKind.USER and self.role == "admin"

    @property
    def is_service(self) -> bool:
        """Tell whether the caller is an internal service."""
        return self.kind is PrincipalKind.SERVICE

    @property
    def resource_name(self) -> str:
        """Return "users/{id}" or "services/{name}"."""
        prefix = "users" if self.kind is PrincipalKind.USER else "services"
        return f"{prefix}/{self.subject}"


@dataclass(frozen=True)
class ClientInfo:
    """Where a call comes from: the client's address and user agent."""

    ip_address: str = ""
    user_agent: str = ""


request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
principal_var: ContextVar[Principal | None] = ContextVar("principal", default=None)
client_var: ContextVar[ClientInfo | None] = ContextVar("client", default=None)
_UNKNOWN_CLIENT = ClientInfo()


def current_client() -> ClientInfo:
    """Return the address and user agent of the call being served."""
    return client_var.get() or _UNKNOWN_CLIENT


def current_request_id() -> str | None:
    """Return the id of the request being served, if any."""
    return request_id_var.get()


def current_principal() -> Principal | None:
    """Return the authenticated caller, or None for an anonymous call."""
    return principal_var.get()


def require_principal() -> Principal:
    """Return the authenticated caller or raise Unauthenticated."""
    principal = principal_var.get()
    if principal is None:
        raise errors.Unauthenticated("this call needs credentials")
    return principal
