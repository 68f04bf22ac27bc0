"""How the user domain plugs into the studio."""

from __future__ import annotations

from filmstudio.v1 import user_pb2_grpc

from services.common.app import App
from services.common.auth import SessionCheck
from services.common.registry import Domain, ServiceSpec
from services.user import cli, models
from services.user.new_accounts import NewAccountHooks
from services.user.servicer import UserServicer
from services.user.session_check import DatabaseSessionCheck
from services.user.user_service import UserService


def _session_check(app: App) -> SessionCheck:
    return app.get(DatabaseSessionCheck)


def _database_session_check(app: App) -> DatabaseSessionCheck:
    settings = app.settings
    check = DatabaseSessionCheck(
        app.database, redis_url=settings.redis_url, key_prefix=settings.queue_prefix
    )
    app.on_close(check.close)
    return check


def _user_service(app: App) -> UserService:
    return UserService(
        app.database,
        settings=app.settings,
        codec=app.tokens,
        session_check=app.get(DatabaseSessionCheck),
        outbox=app.outbox,
        new_accounts=app.get(NewAccountHooks),
    )


DOMAIN = Domain(
    key="user",
    services=(
        ServiceSpec(
            "user",
            "filmstudio.v1.UserService",
            user_pb2_grpc.UserServiceServicer,
            user_pb2_grpc.add_UserServiceServicer_to_server,
            lambda app: UserServicer(app.get(UserService)),
        ),
    ),
    models=models,
    providers={
        UserService: _user_service,
        DatabaseSessionCheck: _database_session_check,
        # None here; the composition root adds what other domains do for a new account.
        NewAccountHooks: lambda app: NewAccountHooks(),
    },
    commands=cli.register,
    session_check=_session_check,
)
