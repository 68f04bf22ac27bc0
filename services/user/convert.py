"""Proto <-> domain for the user service."""

from __future__ import annotations

from filmstudio.v1 import common_pb2, user_pb2

from services.common.convert import timestamp
from services.user.live_sessions import SessionInfo
from services.user.sessions import TokenPair
from services.user.signin import AuthResult
from services.user.users import User

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
