"""`filmstudio users ...`: account administration that needs database access, not an RPC."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from services.common.config import Settings
from services.common.db import Database
from services.common.errors import DomainError
from services.user.user_service import UserService

log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    """Add the `users` command and its subcommands."""
    users = commands.add_parser("users", help="account administration")
    actions = users.add_subparsers(dest="action", required=True)
    promote = actions.add_parser("promote", help="give an account a role (makes the first admin)")
    promote.add_argument("email")
    promote.add_argument("--role", choices=("admin", "user"), default="admin")
    promote.set_defaults(handler=_promote)


async def _set_role(settings: Settings, email: str, role: str) -> int:
    database = Database.from_settings(settings)
    try:
        user = await UserService(database, settings=settings).set_role(email, role)
    except DomainError as error:
        log.error("%s", error.message)
        return 1
    finally:
        await database.dispose()
    log.info("role changed", extra={"user_id": user.id, "role": user.role})
    return 0


def _promote(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_set_role(settings, args.email, args.role))
