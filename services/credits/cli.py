"""`filmstudio ledger ...`: checks of the credits ledger that need database access."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from services.common.config import Settings
from services.common.db import Database
from services.credits.records import Report
from services.credits.verify import verify

log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    """Add the `ledger` command and its subcommands."""
    ledger = commands.add_parser("ledger", help="credits ledger administration")
    actions = ledger.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "verify", help="recompute every balance from the entries; exit 1 on any difference"
    )
    check.set_defaults(handler=_verify)


async def _run(settings: Settings) -> Report:
    database = Database.from_settings(settings)
    try:
        return await verify(database)
    finally:
        await database.dispose()


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    report = asyncio.run(_run(settings))
    for difference in report.differences:
        log.error(
            "ledger difference: users/%s %s is %s, the entries say %s",
            difference.user_id,
            difference.account,
            difference.stored,
            difference.expected,
        )
    system = ", ".join(f"{name} {total}" for name, total in report.system.items())
    summary = (
        f"{report.wallets} wallets, {report.entries} entries checked; "
        f"{len(report.differences)} differences; system accounts: {system}"
    )
    if report.clean:
        log.info("ledger verified: %s", summary)
        return 0
    log.error("ledger verification FAILED: %s", summary)
    return 1
