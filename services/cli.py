"""The `filmstudio` command: run, serve and migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from services.common.app import App
from services.common.config import ConfigError, Settings, load_settings
from services.common.logs import configure_logging
from services.common.migrate import migrate
from services.common.registry import SERVICES, resolve
from services.common.server import StudioServer, serve_until_signalled

log = logging.getLogger("filmstudio")


async def _serve(settings: Settings, services: str, *, migrate_first: bool) -> None:
    specs = resolve(services)
    app = App.create(settings)
    try:
        if migrate_first:
            await migrate(settings.effective_database_url)
        await serve_until_signalled(StudioServer(app, specs))
    finally:
        await app.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="filmstudio", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="every service in one process on embedded defaults")
    serve = commands.add_parser("serve", help="a subset of the services (production)")
    serve.add_argument(
        "--services",
        default="all",
        help=f"comma-separated: {','.join(SERVICES)} (default: all)",
    )
    serve.add_argument("--migrate", action="store_true", help="apply migrations before serving")
    commands.add_parser("migrate", help="bring the database schema up to date")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except (ValidationError, ConfigError) as error:
        print(f"filmstudio: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.effective_log_format)
    try:
        if args.command == "run":
            asyncio.run(_serve(settings, "all", migrate_first=True))
        elif args.command == "serve":
            asyncio.run(_serve(settings, args.services, migrate_first=args.migrate))
        elif args.command == "migrate":
            asyncio.run(migrate(settings.effective_database_url))
            log.info("database is at the latest revision")
    except ValueError as error:
        log.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
