"""`filmstudio audit ...`: checks of the audit log that need database access."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from services.common.audit_verify import AuditReport, verify
from services.common.config import Settings
from services.common.db import Database

log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    """Add the `audit` command and its subcommands."""
    audit = commands.add_parser("audit", help="audit log administration")
    actions = audit.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "verify",
        help="recompute the audit log's hash chain; exit 1 naming the first changed, deleted or "
        "reordered row",
    )
    check.set_defaults(handler=_verify)


async def _run(settings: Settings) -> AuditReport:
    database = Database.from_settings(settings)
    try:
        return await verify(database)
    finally:
        await database.dispose()


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    report = asyncio.run(_run(settings))
    if report.problem is None:
        log.info(
            "audit log verified: %s rows; head sequence %s, hash %s",
            report.rows,
            report.head_seq,
            report.head_hash,
        )
        return 0
    log.error(
        "audit log verification FAILED at sequence %s: %s (%s rows before it are intact)",
        report.problem.seq,
        report.problem.why,
        report.rows,
    )
    return 1
