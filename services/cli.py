"""The `filmstudio` command: run, serve and migrate, plus the commands each domain adds.

Part of the composition root: it builds the studio from services/bootstrap.py.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from services.client_cli.commands import NAMES as CLIENT_COMMANDS
from services.common.config import MAX_SOCKET_PATH, ConfigError, Settings, load_settings
from services.common.logs import configure_logging

log = logging.getLogger("filmstudio")

# Commands that need no server, database or gRPC: their module registers them on a parser of
# their own, so a run imports only what it uses (the whole studio costs a second to import).
STANDALONE_COMMANDS = {"stage": "services.ai_job.stage_cli"} | dict.fromkeys(
    CLIENT_COMMANDS, "services.client_cli.commands"
)
# Maintenance actions under a client command's name need the studio's own parser.
STUDIO_ACTIONS = {"projects": {"purge"}}


async def _serve(
    settings: Settings,
    services: str,
    *,
    migrate_first: bool,
    with_gateway: bool = False,
    background: bool = True,
    index: int = 0,
) -> None:
    from services.bootstrap import build_app, resolve, start_background
    from services.common import tracing
    from services.common.metrics import serve_metrics
    from services.common.migrate import migrate
    from services.common.server import StudioServer, serve_until_signalled

    # Set up in the copy that serves (after any fork): the exporter's thread is its own.
    name = "studio" if with_gateway else "serve" if services == "all" else services
    tracer = tracing.configure(settings, f"filmstudio-{name.replace(',', '+')}")
    specs = resolve(services)
    metrics = serve_metrics(settings, index)
    app = build_app(settings)
    try:
        if migrate_first:
            await migrate(settings.effective_database_url)
        elif index == 0:
            await _warn_if_not_migrated(settings)
        companions = []
        if with_gateway:
            from gateway import tracing as gateway_tracing
            from gateway.filmstudio import filmstudio_config
            from gateway.server import GatewayServer

            gateway_tracing.enable(tracer)
            companions.append(
                GatewayServer(
                    filmstudio_config(settings, settings.local_grpc_target),
                    host=settings.gateway_host,
                    port=settings.gateway_port,
                    grace_seconds=settings.shutdown_grace_seconds,
                )
            )
        await serve_until_signalled(
            StudioServer(app, specs),
            companions=companions,
            on_started=(lambda: start_background(app)) if background else None,
        )
    finally:
        await app.close()
        if metrics is not None:
            metrics.close()


async def _warn_if_not_migrated(settings: Settings) -> None:
    """Say at start-up, not on every call, that the database was never migrated."""
    from services.common.migrate import current_revision

    try:
        revision = await current_revision(settings.effective_database_url)
    except Exception:  # unreachable now: the calls will say so, and it may come up later
        return
    if revision is None:
        log.error(
            "the database has no schema: run `filmstudio migrate` (or serve with --migrate); "
            "until then every call that reads it fails UNAVAILABLE DATABASE_NOT_MIGRATED"
        )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.loop import run_on_uvloop

    if "CREDITS_AUTO_MONTHLY" not in os.environ:
        # The embedded studio has no scheduler: grant each month's allowance itself.
        settings = settings.model_copy(update={"credits_auto_monthly": True})
    if "GRPC_UNIX_SOCKET" not in os.environ:
        # The embedded gateway reaches the services over a Unix socket: cheaper than loopback.
        socket_path = (settings.var_dir / "run" / "grpc.sock").absolute()
        if len(str(socket_path)) <= MAX_SOCKET_PATH:  # else loopback TCP, as before
            settings = settings.model_copy(update={"grpc_unix_socket": str(socket_path)})
    try:
        run_on_uvloop(_serve(settings, "all", migrate_first=True, with_gateway=True))
    except OSError as error:  # a port already taken, most often by another `make run`
        log.error("cannot run the studio: %s", error)
        return 1
    return 0


def _serve_command(args: argparse.Namespace, settings: Settings) -> int:
    from services.bootstrap import resolve
    from services.common.loop import run_on_uvloop
    from services.common.migrate import migrate
    from services.common.processes import check_processes, supervise

    processes = args.processes or settings.grpc_processes
    check_processes(settings, processes, [spec.key for spec in resolve(args.services)])
    # The copy count decides whether the port is shared (SO_REUSEPORT) or must be free.
    settings = settings.model_copy(update={"grpc_processes": processes})
    if processes == 1:
        try:
            run_on_uvloop(_serve(settings, args.services, migrate_first=args.migrate))
        except OSError as error:
            log.error("cannot serve: %s", error)
            return 1
        return 0
    if args.migrate:
        run_on_uvloop(migrate(settings.effective_database_url))  # once, before any copy serves
    return supervise(processes, _serve_process, settings, args.services)


def _serve_process(settings: Settings, services: str, index: int) -> None:
    """Serve one copy of a multi-process server; copy 0 also runs the periodic work."""
    from services.common.loop import run_on_uvloop

    configure_logging(settings.log_level, settings.effective_log_format)
    run_on_uvloop(
        _serve(settings, services, migrate_first=False, background=index == 0, index=index)
    )


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from services.common.migrate import migrate

    asyncio.run(migrate(settings.effective_database_url))
    log.info("database is at the latest revision")
    return 0


def _parser() -> argparse.ArgumentParser:
    from gateway import cli as gateway_cli
    from services.bootstrap import DOMAINS, SERVICES
    from services.client_cli import commands as client_commands

    parser = argparse.ArgumentParser(prog="filmstudio", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="every service in one process on embedded defaults")
    run.set_defaults(handler=_run)
    serve = commands.add_parser("serve", help="a subset of the services (production)")
    serve.add_argument(
        "--services",
        default="all",
        help=f"comma-separated: {','.join(SERVICES)} (default: all)",
    )
    serve.add_argument("--migrate", action="store_true", help="apply migrations before serving")
    serve.add_argument(
        "--processes",
        type=int,
        default=0,
        help="copies of the server on the same port, about one per core (default: GRPC_PROCESSES)",
    )
    serve.set_defaults(handler=_serve_command)
    migrate_parser = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate_parser.set_defaults(handler=_migrate)
    for domain in DOMAINS:
        if domain.commands is not None:
            domain.commands(commands)
    gateway_cli.register(commands)
    client_commands.register(commands, skip=set(commands.choices))
    return parser


def _standalone_parser(command: str) -> argparse.ArgumentParser:
    """Return a parser that knows only `command`, importing nothing of the studio but its module."""
    parser = argparse.ArgumentParser(prog="filmstudio", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    importlib.import_module(STANDALONE_COMMANDS[command]).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    standalone = argv[0] if argv and argv[0] in STANDALONE_COMMANDS else None
    if standalone and argv[1:2] and argv[1] in STUDIO_ACTIONS.get(standalone, ()):
        standalone = None
    args = (_standalone_parser(standalone) if standalone else _parser()).parse_args(argv)
    try:
        settings = load_settings()
    except (ValidationError, ConfigError) as error:
        print(f"filmstudio: configuration error: {error}", file=sys.stderr)  # noqa: T201
        return 2
    configure_logging(settings.log_level, settings.effective_log_format)
    try:
        return int(args.handler(args, settings))
    except ValueError as error:
        log.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
