"""The gRPC transport of UserService: proto in, domain call, proto out."""

from __future__ import annotations

import grpc
from filmstudio.v1 import user_pb2, user_pb2_grpc

from services.common.context import require_principal
from services.common.convert import timestamp
from services.common.memo import PerRecord
from services.user.convert import (
    PROVIDER,
    own_user,
    profile_of,
    session_message,
    session_ref,
    signed_in,
    token_info_message,
    tokens_message,
    user_message,
)
from services.user.user_service import UserService

# Each RPC's context is typed with its own request and response: Context[Request, Response].
Context = grpc.aio.ServicerContext


class UserServicer(user_pb2_grpc.UserServiceServicer):
    """UserService over gRPC."""

    def __init__(self, service: UserService) -> None:
        self.service = service
        # A cached account is read by many calls: its message is made once (memo.py).
        self._message = PerRecord(user_message)

    async def RegisterUser(
        self,
        request: user_pb2.RegisterUserRequest,
        context: Context[user_pb2.RegisterUserRequest, user_pb2.RegisterUserResponse],
    ) -> user_pb2.RegisterUserResponse:
        user = await self.service.register_user(
            email=request.email,
            password=request.password,
            first_name=request.first_name,
            last_name=request.last_name,
        )
        return user_pb2.RegisterUserResponse(user=user_message(user))

    async def Login(
        self,
        request: user_pb2.LoginRequest,
        context: Context[user_pb2.LoginRequest, user_pb2.LoginResponse],
    ) -> user_pb2.LoginResponse:
        auth = await self.service.login(email=request.email, password=request.password)
        return user_pb2.LoginResponse(tokens=tokens_message(auth), user=user_message(auth.user))

    async def RefreshToken(
        self,
        request: user_pb2.RefreshTokenRequest,
        context: Context[user_pb2.RefreshTokenRequest, user_pb2.RefreshTokenResponse],
    ) -> user_pb2.RefreshTokenResponse:
        tokens = await self.service.refresh_token(request.refresh_token)
        return user_pb2.RefreshTokenResponse(tokens=tokens_message(tokens))

    async def Logout(
        self,
        request: user_pb2.LogoutRequest,
        context: Context[user_pb2.LogoutRequest, user_pb2.LogoutResponse],
    ) -> user_pb2.LogoutResponse:
        await self.service.logout(*signed_in(require_principal()))
        return user_pb2.LogoutResponse()

    async def VerifyToken(
        self,
        request: user_pb2.VerifyTokenRequest,
        context: Context[user_pb2.VerifyTokenRequest, user_pb2.VerifyTokenResponse],
    ) -> user_pb2.VerifyTokenResponse:
        return token_info_message(await self.service.verify_token(request.access_token))

    async def GetMe(
        self,
        request: user_pb2.GetMeRequest,
        context: Context[user_pb2.GetMeRequest, user_pb2.GetMeResponse],
    ) -> user_pb2.GetMeResponse:
        user = await self.service.get_user(own_user("", require_principal()))
        return user_pb2.GetMeResponse(user=self._message(user))

    async def GetUserByEmail(
        self,
        request: user_pb2.GetUserByEmailRequest,
        context: Context[user_pb2.GetUserByEmailRequest, user_pb2.GetUserByEmailResponse],
    ) -> user_pb2.GetUserByEmailResponse:
        user = await self.service.get_user_by_email(request.email)
        return user_pb2.GetUserByEmailResponse(user=user_message(user))

    async def UpdateUserProfile(
        self,
        request: user_pb2.UpdateUserProfileRequest,
        context: Context[user_pb2.UpdateUserProfileRequest, user_pb2.UpdateUserProfileResponse],
    ) -> user_pb2.UpdateUserProfileResponse:
        user = await self.service.update_user_profile(
            own_user(request.user.name, require_principal(), "user.name"),
            **profile_of(request.user, request.update_mask.paths),
        )
        return user_pb2.UpdateUserProfileResponse(user=user_message(user))

    async def ChangePassword(
        self,
        request: user_pb2.ChangePasswordRequest,
        context: Context[user_pb2.ChangePasswordRequest, user_pb2.ChangePasswordResponse],
    ) -> user_pb2.ChangePasswordResponse:
        user_id, session_id = signed_in(require_principal())
        tokens = await self.service.change_password(
            user_id, request.current_password, request.new_password, session_id=session_id
        )
        return user_pb2.ChangePasswordResponse(tokens=tokens_message(tokens))

    async def RequestPasswordReset(
        self,
        request: user_pb2.RequestPasswordResetRequest,
        context: Context[
            user_pb2.RequestPasswordResetRequest, user_pb2.RequestPasswordResetResponse
        ],
    ) -> user_pb2.RequestPasswordResetResponse:
        await self.service.request_password_reset(request.email)
        return user_pb2.RequestPasswordResetResponse()

    async def ResetPassword(
        self,
        request: user_pb2.ResetPasswordRequest,
        context: Context[user_pb2.ResetPasswordRequest, user_pb2.ResetPasswordResponse],
    ) -> user_pb2.ResetPasswordResponse:
        await self.service.reset_password(request.token, request.new_password)
        return user_pb2.ResetPasswordResponse()

    async def VerifyEmail(
        self,
        request: user_pb2.VerifyEmailRequest,
        context: Context[user_pb2.VerifyEmailRequest, user_pb2.VerifyEmailResponse],
    ) -> user_pb2.VerifyEmailResponse:
        user = await self.service.verify_email(request.token)
        return user_pb2.VerifyEmailResponse(user=user_message(user))

    async def StartOAuthLogin(
        self,
        request: user_pb2.StartOAuthLoginRequest,
        context: Context[user_pb2.StartOAuthLoginRequest, user_pb2.StartOAuthLoginResponse],
    ) -> user_pb2.StartOAuthLoginResponse:
        started = await self.service.start_oauth_login(PROVIDER.get(request.provider, ""))
        return user_pb2.StartOAuthLoginResponse(
            authorization_url=started.authorization_url,
            state=started.state,
            expire_time=timestamp(started.expires_at),
        )

    async def CompleteOAuthLogin(
        self,
        request: user_pb2.CompleteOAuthLoginRequest,
        context: Context[user_pb2.CompleteOAuthLoginRequest, user_pb2.CompleteOAuthLoginResponse],
    ) -> user_pb2.CompleteOAuthLoginResponse:
        auth = await self.service.complete_oauth_login(
            PROVIDER.get(request.provider, ""), request.code, request.state
        )
        return user_pb2.CompleteOAuthLoginResponse(
            tokens=tokens_message(auth), user=user_message(auth.user), created=auth.created
        )

    async def ListSessions(
        self,
        request: user_pb2.ListSessionsRequest,
        context: Context[user_pb2.ListSessionsRequest, user_pb2.ListSessionsResponse],
    ) -> user_pb2.ListSessionsResponse:
        principal = require_principal()
        sessions, next_token = await self.service.list_sessions(
            own_user(request.parent, principal, "parent"),
            principal.session_id or "",
            request.page_size,
            request.page_token,
        )
        return user_pb2.ListSessionsResponse(
            sessions=[session_message(s) for s in sessions], next_page_token=next_token
        )

    async def RevokeSession(
        self,
        request: user_pb2.RevokeSessionRequest,
        context: Context[user_pb2.RevokeSessionRequest, user_pb2.RevokeSessionResponse],
    ) -> user_pb2.RevokeSessionResponse:
        await self.service.revoke_session(*session_ref(request.name, require_principal()))
        return user_pb2.RevokeSessionResponse()
