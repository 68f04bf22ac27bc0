"""The gRPC transport of UserService: proto in, domain call, proto out."""

from __future__ import annotations

from typing import Any

from filmstudio.v1 import common_pb2, user_pb2, user_pb2_grpc

from services.common import errors
from services.common.app import App
from services.common.context import require_principal
from services.common.convert import timestamp, user_ref
from services.user.convert import PROVIDER, ROLE, session_message, tokens_message, user_message
from services.user.user_service import UserService

Context = Any
PROFILE_FIELDS = ("first_name", "last_name", "avatar_url", "locale")


class UserServicer(user_pb2_grpc.UserServiceServicer):
    """UserService over gRPC."""

    def __init__(self, service: UserService) -> None:
        self.service = service

    async def RegisterUser(self, request: Any, context: Context) -> Any:
        user = await self.service.register_user(
            email=request.email,
            password=request.password,
            first_name=request.first_name,
            last_name=request.last_name,
        )
        return user_pb2.RegisterUserResponse(user=user_message(user))

    async def Login(self, request: Any, context: Context) -> Any:
        auth = await self.service.login(email=request.email, password=request.password)
        return user_pb2.LoginResponse(tokens=tokens_message(auth), user=user_message(auth.user))

    async def RefreshToken(self, request: Any, context: Context) -> Any:
        tokens = await self.service.refresh_token(request.refresh_token)
        return user_pb2.RefreshTokenResponse(tokens=tokens_message(tokens))

    async def Logout(self, request: Any, context: Context) -> Any:
        principal = require_principal()
        await self.service.logout(int(principal.subject), principal.session_id or "")
        return user_pb2.LogoutResponse()

    async def VerifyToken(self, request: Any, context: Context) -> Any:
        info = await self.service.verify_token(request.access_token)
        return user_pb2.VerifyTokenResponse(
            user=f"users/{info.user_id}",
            role=ROLE.get(info.role, common_pb2.ROLE_UNSPECIFIED),
            session=f"users/{info.user_id}/sessions/{info.session_id}",
            expire_time=timestamp(info.expires_at),
        )

    async def GetMe(self, request: Any, context: Context) -> Any:
        user_id = user_ref("users/me", require_principal())
        return user_pb2.GetMeResponse(user=user_message(await self.service.get_user(user_id)))

    async def GetUserByEmail(self, request: Any, context: Context) -> Any:
        user = await self.service.get_user_by_email(request.email)
        return user_pb2.GetUserByEmailResponse(user=user_message(user))

    async def UpdateUserProfile(self, request: Any, context: Context) -> Any:
        user_id = user_ref(request.user.name or "users/me", require_principal(), "user.name")
        paths = list(request.update_mask.paths)
        if not paths:
            raise errors.InvalidArgument.field("update_mask", "must name the fields to change")
        unknown = [path for path in paths if path not in PROFILE_FIELDS]
        if unknown:
            raise errors.InvalidArgument(
                [
                    errors.FieldViolation("update_mask", f"{path} cannot be updated")
                    for path in unknown
                ]
            )
        changes = {path: getattr(request.user, path) for path in paths}
        user = await self.service.update_user_profile(user_id, **changes)
        return user_pb2.UpdateUserProfileResponse(user=user_message(user))

    async def ChangePassword(self, request: Any, context: Context) -> Any:
        principal = require_principal()
        tokens = await self.service.change_password(
            int(principal.subject),
            request.current_password,
            request.new_password,
            session_id=principal.session_id or "",
        )
        return user_pb2.ChangePasswordResponse(tokens=tokens_message(tokens))

    async def RequestPasswordReset(self, request: Any, context: Context) -> Any:
        await self.service.request_password_reset(request.email)
        return user_pb2.RequestPasswordResetResponse()

    async def ResetPassword(self, request: Any, context: Context) -> Any:
        await self.service.reset_password(request.token, request.new_password)
        return user_pb2.ResetPasswordResponse()

    async def VerifyEmail(self, request: Any, context: Context) -> Any:
        user = await self.service.verify_email(request.token)
        return user_pb2.VerifyEmailResponse(user=user_message(user))

    async def StartOAuthLogin(self, request: Any, context: Context) -> Any:
        started = await self.service.start_oauth_login(PROVIDER.get(request.provider, ""))
        return user_pb2.StartOAuthLoginResponse(
            authorization_url=started.authorization_url,
            state=started.state,
            expire_time=timestamp(started.expires_at),
        )

    async def CompleteOAuthLogin(self, request: Any, context: Context) -> Any:
        auth = await self.service.complete_oauth_login(
            PROVIDER.get(request.provider, ""), request.code, request.state
        )
        return user_pb2.CompleteOAuthLoginResponse(
            tokens=tokens_message(auth), user=user_message(auth.user), created=auth.created
        )

    async def ListSessions(self, request: Any, context: Context) -> Any:
        principal = require_principal()
        user_id = user_ref(request.parent or "users/me", principal, "parent")
        sessions, next_token = await self.service.list_sessions(
            user_id, principal.session_id or "", request.page_size, request.page_token
        )
        return user_pb2.ListSessionsResponse(
            sessions=[session_message(s) for s in sessions], next_page_token=next_token
        )

    async def RevokeSession(self, request: Any, context: Context) -> Any:
        parent, _, session_id = request.name.rpartition("/sessions/")
        if not session_id:
            raise errors.InvalidArgument.field("name", "must look like users/{id}/sessions/{id}")
        user_id = user_ref(parent, require_principal())
        await self.service.revoke_session(user_id, session_id)
        return user_pb2.RevokeSessionResponse()


def build(app: App) -> UserServicer:
    """Build the servicer on the app's database, token codec and session check."""
    return UserServicer(app.user_service())
