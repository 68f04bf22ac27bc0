"""`filmstudio projects purge`: delete for good the projects deleted more than 30 days ago."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from services.common.config import Settings
from services.common.db import Database
from services.common.storage_setup import storage_from_settings
from services.project.project_service import ProjectService
from services.project.purge import purge_projects

log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    """Add the `projects` command."""
    projects = commands.add_parser("projects", help="project maintenance")
    actions = projects.add_subparsers(dest="action", required=True)
    purge = actions.add_parser("purge", help="purge projects deleted over 30 days ago")
    purge.set_defaults(handler=_purge)


async def _run_purge(settings: Settings) -> int:
    database = Database.from_settings(settings)
    try:
        purged = await purge_projects(ProjectService(database), storage_from_settings(settings))
    finally:
        await database.dispose()
    log.info("purge finished", extra={"purged": len(purged)})
    return 0


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run_purge(settings))
