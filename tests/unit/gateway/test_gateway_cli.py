"""`filmstudio gateway` options become the gateway configuration."""

from __future__ import annotations

import argparse

from gateway.cli import config_from_args, register
from services.common.config import Settings


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["gateway", *argv])


def test_defaults_serve_filmstudio_behind_the_configured_grpc_address(tmp_path) -> None:
    settings = Settings(FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path), GRPC_PORT=6000)
    config = config_from_args(_parse(), settings)
    assert config.backend == "127.0.0.1:6000"
    assert "filmstudio.v1.ProjectService" in config.services
    assert "filmstudio.v1.AIJobService.WatchJob" in config.resume


def test_options_override_backend_cors_limits_and_descriptors(tmp_path) -> None:
    settings = Settings(FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path))
    args = _parse(
        "--backend",
        "10.0.0.5:9000",
        "--cors-origin",
        "https://a.example",
        "--cors-origin",
        "https://b.example",
        "--timeout",
        "2.5",
        "--max-body-bytes",
        "1024",
        "--descriptor-set",
        str(tmp_path / "set.binpb"),
        "--service",
        "acme.v1.Things",
    )
    config = config_from_args(args, settings)
    assert config.backend == "10.0.0.5:9000"
    assert config.cors_origins == ("https://a.example", "https://b.example")
    assert (config.default_timeout_seconds, config.max_body_bytes) == (2.5, 1024)
    assert config.services == ("acme.v1.Things",)
    assert config.descriptor_set == tmp_path / "set.binpb"


def test_unary_calls_go_over_h2c_unless_settings_or_the_flag_choose_grpcio(tmp_path) -> None:
    settings = Settings(FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path))
    assert config_from_args(_parse(), settings).upstream_client == "h2c"
    assert config_from_args(_parse("--upstream-client", "grpcio"), settings).upstream_client == (
        "grpcio"
    )
    chosen = Settings(
        FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path), GATEWAY_UPSTREAM_CLIENT="grpcio"
    )
    assert config_from_args(_parse(), chosen).upstream_client == "grpcio"
    args = _parse("--descriptor-set", str(tmp_path / "set.binpb"))
    assert config_from_args(args, chosen).upstream_client == "grpcio"


def test_input_is_lenient_unless_settings_or_the_flag_ask_for_strict(tmp_path) -> None:
    settings = Settings(FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path))
    assert config_from_args(_parse(), settings).strict_input is False
    assert config_from_args(_parse("--strict-input"), settings).strict_input is True
    strict = Settings(
        FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path), GATEWAY_STRICT_INPUT="true"
    )
    assert config_from_args(_parse(), strict).strict_input is True
    assert config_from_args(_parse("--no-strict-input"), strict).strict_input is False
    args = _parse("--descriptor-set", str(tmp_path / "set.binpb"))
    assert config_from_args(args, strict).strict_input is True


def test_the_direct_lane_is_on_unless_settings_turn_it_off(tmp_path) -> None:
    settings = Settings(FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path))
    assert config_from_args(_parse(), settings).direct_lane is True
    off = Settings(
        FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path), GATEWAY_DIRECT_LANE="false"
    )
    assert config_from_args(_parse(), off).direct_lane is False
    args = _parse("--descriptor-set", str(tmp_path / "set.binpb"))
    assert config_from_args(args, off).direct_lane is False
