"""`filmstudio gateway`: the REST bridge on its own, in front of any gRPC backend."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

from gateway.config import GatewayConfig
from gateway.filmstudio import filmstudio_config, filmstudio_services
from gateway.reflection import ReflectionError, reflect
from gateway.routes import parse_route
from gateway.server import GatewayServer, serve_until_signalled
from services.common.config import Settings, load_settings
from services.common.logs import configure_logging
from services.common.loop import run_on_uvloop
from services.common.metrics import serve_metrics
from services.common.processes import check_copies, supervise

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the `gateway` command."""
    parser = subparsers.add_parser(
        "gateway", help="the REST/JSON gateway (grpc-gateway style) in front of a gRPC backend"
    )
    parser.add_argument(
        "--backend",
        help="gRPC server HOST:PORT or unix:PATH (default: GRPC_UNIX_SOCKET if set, else "
        "GRPC_HOST:GRPC_PORT)",
    )
    parser.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="SERVICE=HOST:PORT",
        help="send one service's calls to a backend of its own (repeat); SERVICE is a full name "
        "(filmstudio.v1.ProjectService) or a `filmstudio serve --services` key (project)",
    )
    parser.add_argument("--host", help="address to listen on (default: GATEWAY_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (default: GATEWAY_PORT)")
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        help="an origin allowed by CORS (repeat; '*' allows any)",
    )
    parser.add_argument(
        "--descriptor-set",
        type=Path,
        help="serve the services of this FileDescriptorSet (protoc --include_imports "
        "--include_source_info --descriptor_set_out); without it, a --backend is asked for its "
        "descriptors by gRPC server reflection (FilmStudio's own when it serves them)",
    )
    parser.add_argument(
        "--service",
        action="append",
        default=[],
        help="with --descriptor-set or reflection: a service to expose",
    )
    parser.add_argument(
        "--reflection-timeout",
        type=float,
        default=30.0,
        help="how long to wait for the --backend to answer server reflection, seconds",
    )
    parser.add_argument("--timeout", type=float, help="default deadline of unary calls, seconds")
    parser.add_argument("--max-body-bytes", type=int, help="the largest request body accepted")
    parser.add_argument(
        "--upstream-client",
        choices=("h2c", "grpcio"),
        help="how unary calls reach the backend (default: GATEWAY_UPSTREAM_CLIENT, h2c)",
    )
    parser.add_argument(
        "--strict-input",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refuse (400) unknown JSON fields and query keys and bad Grpc-Metadata-* headers, "
        "which grpc-gateway ignores (default: GATEWAY_STRICT_INPUT, off)",
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="copies on the same port, about one per core"
    )
    parser.set_defaults(handler=run)


def main(argv: list[str] | None = None) -> int:
    """Parse `gateway` arguments and serve: `python -m gateway` without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="python -m gateway")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["gateway", *(sys.argv[1:] if argv is None else argv)])
    settings = load_settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    return int(args.handler(args, settings))


async def resolve_config(args: argparse.Namespace, settings: Settings) -> GatewayConfig:
    """Build the configuration; a --backend without --descriptor-set is asked by reflection.

    A backend whose reflection lists only FilmStudio's services gets FilmStudio's binding (its
    compiled contracts, access option, stream resume and webhook routes).
    """
    if args.backend is None or args.descriptor_set is not None:
        return config_from_args(args, settings)
    files = await reflect(args.backend, args.reflection_timeout)
    names = {
        f"{file.package}.{service.name}" if file.package else service.name
        for file in files.file
        for service in file.service
    }
    if not args.service and serves_filmstudio(names):
        log.info("the backend serves FilmStudio: its own binding is used")
        return config_from_args(args, settings)
    return config_from_args(args, settings, file_set=files)


def serves_filmstudio(names: set[str]) -> bool:
    """Say whether a backend's services are FilmStudio's (any subset) plus gRPC's own."""
    # `serve --services user` is still FilmStudio: its routes and per-route limits apply, and
    # a route to a service it does not run answers UNIMPLEMENTED as the backend would.
    studio = set(filmstudio_services())
    own = {name for name in names if not name.startswith("grpc.")}
    return bool(own) and own <= studio


def config_from_args(
    args: argparse.Namespace,
    settings: Settings,
    *,
    file_set: descriptor_pb2.FileDescriptorSet | None = None,
) -> GatewayConfig:
    """Build the gateway configuration from the command line and settings."""
    backend = args.backend or settings.local_grpc_target
    routes = parse_routes(args.route)
    if args.descriptor_set is not None or file_set is not None:
        config = GatewayConfig(
            backend=backend,
            routes=routes,
            services=tuple(args.service),
            descriptor_set=args.descriptor_set,
            file_set=file_set,
            upstream_client=settings.gateway_upstream_client,
            trusted_proxies=tuple(settings.trusted_proxies.split(",")),
            strict_input=settings.gateway_strict_input,
            direct_lane=settings.gateway_direct_lane,
        )
    else:
        config = filmstudio_config(settings, backend, routes)
    changes: dict[str, Any] = {}
    if args.cors_origin:
        changes["cors_origins"] = tuple(args.cors_origin)
    if args.timeout is not None:
        changes["default_timeout_seconds"] = args.timeout
    if args.max_body_bytes is not None:
        changes["max_body_bytes"] = args.max_body_bytes
    if args.upstream_client is not None:
        changes["upstream_client"] = args.upstream_client
    if args.strict_input is not None:
        changes["strict_input"] = args.strict_input
    return dataclasses.replace(config, **changes)


def parse_routes(texts: list[str]) -> dict[str, str]:
    """Return --route values as full service name -> target; a short name is a serve key."""
    routes: dict[str, str] = {}
    for text in texts:
        service, target = parse_route(text)
        if "." not in service:
            from services.bootstrap import SERVICES

            if service not in SERVICES:
                raise ValueError(f"--route: unknown service {service!r}; use a full name or "
                                 f"one of {', '.join(SERVICES)}")  # fmt: skip
            service = SERVICES[service].full_name
        routes[service] = target
    return routes


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT, on uvloop, from one process or several on one port."""
    check_copies(args.processes, _port(args, settings), "--port")
    try:
        parse_routes(args.route)
    except ValueError as error:
        log.error("%s", error)
        return 2
    if args.processes == 1:
        try:
            _serve(args, settings)
        except (OSError, ReflectionError) as error:  # say so, without a traceback
            log.error("cannot serve: %s", error)
            return 1
        return 0
    return supervise(args.processes, _serve_copy, args, settings)


def _port(args: argparse.Namespace, settings: Settings) -> int:
    return settings.gateway_port if args.port is None else int(args.port)


def _serve(
    args: argparse.Namespace, settings: Settings, *, reuse_port: bool = False, index: int = 0
) -> None:
    from gateway import tracing as gateway_tracing
    from services.common.tracing import configure as configure_tracing

    # Set up in the copy that serves (after any fork): the exporter's thread is its own.
    gateway_tracing.enable(configure_tracing(settings, "filmstudio-gateway"))

    async def serve() -> None:
        server = GatewayServer(
            await resolve_config(args, settings),
            host=args.host or settings.gateway_host,
            port=_port(args, settings),
            grace_seconds=settings.shutdown_grace_seconds,
            reuse_port=reuse_port,
        )
        await serve_until_signalled(server)

    # Copies share the gateway's port, so a scrape of its /metrics reaches one at random:
    # with METRICS_PORT each copy also serves its own on METRICS_PORT + index.
    metrics = serve_metrics(settings, index)
    try:
        run_on_uvloop(serve())
    finally:
        if metrics is not None:
            metrics.close()


def _serve_copy(args: argparse.Namespace, settings: Settings, index: int) -> None:
    """Serve one copy of a multi-process gateway (the copies share nothing but the port)."""
    configure_logging(settings.log_level, settings.effective_log_format)
    _serve(args, settings, reuse_port=True, index=index)
