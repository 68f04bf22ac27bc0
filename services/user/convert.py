"""Proto <-> domain for the user service."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from filmstudio.v1 import common_pb2, user_pb2

from services.common import errors
from services.common.context import Principal
from services.common.convert import timestamp, user_ref
from services.user.records import AuthResult, SessionInfo, TokenInfo, TokenPair, User
from services.user.rules import PROFILE_FIELDS

ROLE = {"user": common_pb2.ROLE_USER, "admin": common_pb2.ROLE_ADMIN}
STATE = {"active": user_pb2.USER_STATE_ACTIVE, "suspended": user_pb2.USER_STATE_SUSPENDED}
PROVIDER = {
    user_pb2.IDENTITY_PROVIDER_GOOGLE: "google",
    user_pb2.IDENTITY_PROVIDER_GITHUB: "github",
}


def user_message(user: User) -> user_pb2.User:
    """Return the proto of a user."""
    return user_pb2.User(
        name=user.name,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        avatar_url=user.avatar_url,
        locale=user.locale,
        role=ROLE.get(user.role, common_pb2.ROLE_UNSPECIFIED),
        state=STATE.get(user.state, user_pb2.USER_STATE_UNSPECIFIED),
        email_verified=user.email_verified,
        tier=user.tier,
        create_time=timestamp(user.created_at),
        update_time=timestamp(user.updated_at),
        last_login_time=timestamp(user.last_login_at),
    )


def tokens_message(tokens: TokenPair | AuthResult) -> user_pb2.AuthTokens:
    """Return the proto of a token pair."""
    return user_pb2.AuthTokens(
        access_token=tokens.access_token,
        access_token_expire_time=timestamp(tokens.access_token_expires_at),
        refresh_token=tokens.refresh_token,
        refresh_token_expire_time=timestamp(tokens.refresh_token_expires_at),
        token_type=tokens.token_type,
    )


def session_message(session: SessionInfo) -> user_pb2.Session:
    """Return the proto of a session."""
    return user_pb2.Session(
        name=f"users/{session.user_id}/sessions/{session.id}",
        user_agent=session.user_agent,
        ip_address=session.ip_address,
        create_time=timestamp(session.created_at),
        last_used_time=timestamp(session.last_used_at),
        expire_time=timestamp(session.expires_at),
        current=session.current,
    )


def token_info_message(info: TokenInfo) -> user_pb2.VerifyTokenResponse:
    """Return the proto of what a verified access token says."""
    return user_pb2.VerifyTokenResponse(
        user=f"users/{info.user_id}",
        role=ROLE.get(info.role, common_pb2.ROLE_UNSPECIFIED),
        session=f"users/{info.user_id}/sessions/{info.session_id}",
        expire_time=timestamp(info.expires_at),
    )


def signed_in(principal: Principal) -> tuple[int, str]:
    """Return the signed-in caller's user id and session id ("" without a session)."""
    return int(principal.subject), principal.session_id or ""


def own_user(name: str, principal: Principal, field: str = "name") -> int:
    """Resolve a user's name ("users/{id}"; empty: the caller's) to an id the caller may act on."""
    return user_ref(name or "users/me", principal, field)


def session_ref(name: str, principal: Principal) -> tuple[int, str]:
    """Resolve "users/{id}/sessions/{id}" to a user id the caller may act on and a session id."""
    parent, _, session_id = name.rpartition("/sessions/")
    if not session_id:
        raise errors.InvalidArgument.field("name", "must look like users/{id}/sessions/{id}")
    return user_ref(parent, principal), session_id


def profile_of(user: user_pb2.User, paths: Iterable[str]) -> dict[str, Any]:
    """Read the profile fields an update mask names (others are named, for the domain to refuse)."""
    return {path: getattr(user, path) if path in PROFILE_FIELDS else None for path in paths}
