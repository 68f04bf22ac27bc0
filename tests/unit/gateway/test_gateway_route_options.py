"""Several backends: --route sends a service to a target of its own, the rest to --backend."""

from __future__ import annotations

import argparse

import pytest

from gateway.cli import config_from_args, parse_routes, register
from gateway.routes import RoutedChannel, distinct_targets, parse_route, service_of
from services.common.config import Settings


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["gateway", *argv])


def test_a_route_names_a_service_by_full_name_or_by_its_serve_key(tmp_path) -> None:
    settings = Settings(FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path))
    args = _parse(
        "--backend", "127.0.0.1:7001",
        "--route", "project=127.0.0.1:7002",
        "--route", "filmstudio.v1.CreditsService=unix:/run/credits.sock",
        "--route", "jobs = 10.0.0.9:50051",
    )  # fmt: skip
    config = config_from_args(args, settings)
    assert config.backend == "127.0.0.1:7001"
    assert config.routes == {
        "filmstudio.v1.ProjectService": "127.0.0.1:7002",
        "filmstudio.v1.CreditsService": "unix:/run/credits.sock",
        "filmstudio.v1.AIJobService": "10.0.0.9:50051",
    }


def test_a_bad_or_unknown_route_is_refused_with_its_text() -> None:
    with pytest.raises(ValueError, match="SERVICE=HOST:PORT"):
        parse_route("127.0.0.1:7002")
    with pytest.raises(ValueError, match="unknown service 'billing'"):
        parse_routes(["billing=127.0.0.1:7002"])


def test_the_gateway_command_exits_2_on_a_bad_route(tmp_path) -> None:
    from gateway.cli import run

    settings = Settings(FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path))
    assert run(_parse("--route", "nope"), settings) == 2


def test_targets_are_listed_once_default_first() -> None:
    routes = {"a.A": "h:2", "b.B": "h:2", "c.C": "h:3"}
    assert distinct_targets("h:1", routes) == ["h:1", "h:2", "h:3"]
    assert distinct_targets("h:2", routes) == ["h:2", "h:3"]
    assert service_of("/filmstudio.v1.UserService/Login") == "filmstudio.v1.UserService"


class _Recorder:
    """A stand-in channel that says which target a multi-callable came from."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.closed = False

    def unary_unary(self, method: str, **kwargs: object) -> tuple[str, str]:
        return (self.target, method)

    unary_stream = stream_unary = stream_stream = unary_unary

    async def close(self, grace: float | None = None) -> None:
        self.closed = True


async def test_a_routed_channel_opens_one_channel_per_backend_and_closes_them() -> None:
    opened: dict[str, _Recorder] = {}

    def open_channel(target: str) -> _Recorder:
        opened[target] = _Recorder(target)
        return opened[target]

    channel = RoutedChannel("main:1", {"p.Projects": "projects:2"}, open_channel)  # type: ignore[arg-type]
    assert channel.unary_unary("/p.Projects/Get") == ("projects:2", "/p.Projects/Get")
    assert channel.unary_stream("/p.Projects/Watch")[0] == "projects:2"
    assert channel.stream_unary("/u.Users/Upload")[0] == "main:1"
    assert channel.stream_stream("/u.Users/Chat")[0] == "main:1"
    assert sorted(opened) == ["main:1", "projects:2"]
    await channel.close()
    assert all(one.closed for one in opened.values())
