"""The FilmStudio binding: every service of the protos, and only settings that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from gateway.cli import serves_filmstudio
from gateway.filmstudio import filmstudio_config, filmstudio_services
from services.common.config import Settings

ROOT = Path(__file__).resolve().parents[3]
# The gateway modules that build a configuration from Settings.
READERS = ("gateway/filmstudio.py", "gateway/cli.py")


def settings_read(source: str) -> set[str]:
    """Return the names read off `settings`: `settings.x` and `getattr(settings, "x")`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _is_settings(node.value):
            found.add(node.attr)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr")
            and len(node.args) >= 2
            and _is_settings(node.args[0])
            and isinstance(node.args[1], ast.Constant)
        ):
            found.add(str(node.args[1].value))
    return found


def _is_settings(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "settings"


def _exists(name: str) -> bool:
    """Tell whether Settings has a field, property or method of that name."""
    return name in Settings.model_fields or hasattr(Settings, name)


def test_the_binding_reads_only_settings_that_exist() -> None:
    read = {name for path in READERS for name in settings_read((ROOT / path).read_text())}
    assert {"grpc_max_message_bytes", "gateway_upstream_client", "gateway_port"} <= read
    assert sorted(name for name in read if not _exists(name)) == []


def test_the_check_sees_a_setting_read_through_getattr() -> None:
    source = (
        'x = tuple(getattr(settings, "gateway_cors_origins", ()) or ())\ny = settings.log_level'
    )
    assert settings_read(source) == {"gateway_cors_origins", "log_level"}
    assert not _exists("gateway_cors_origins")
    assert _exists("log_level")
    assert _exists("grpc_address")


def test_the_gateway_serves_every_service_the_filmstudio_protos_declare() -> None:
    declared = {
        f"filmstudio.v1.{name}"
        for path in (ROOT / "protos/filmstudio/v1").glob("*.proto")
        for name in re.findall(r"^service (\w+)", path.read_text(), re.MULTILINE)
    }
    assert len(declared) >= 6
    assert set(filmstudio_services()) == declared
    assert len(filmstudio_services()) == len(declared)


def test_the_configuration_takes_its_limits_from_settings(tmp_path) -> None:
    settings = Settings(
        FILMSTUDIO_ENV="test",
        FILMSTUDIO_VAR_DIR=str(tmp_path),
        GRPC_MAX_MESSAGE_BYTES=1234567,
        GATEWAY_UPSTREAM_CLIENT="grpcio",
    )
    config = filmstudio_config(settings, "10.0.0.5:9000", cors_origins=("https://a.example",))
    assert config.backend == "10.0.0.5:9000"
    assert (config.max_message_bytes, config.upstream_client) == (1234567, "grpcio")
    assert config.cors_origins == ("https://a.example",)
    assert filmstudio_config(settings, "10.0.0.5:9000").cors_origins == ()


def test_a_backend_running_some_studio_services_keeps_the_studio_binding() -> None:
    # `serve --services user` behind `gateway --backend`: the login route keeps its body limit.
    assert serves_filmstudio({"filmstudio.v1.UserService", "grpc.health.v1.Health"})
    assert serves_filmstudio(set(filmstudio_services()))
    assert not serves_filmstudio({"filmstudio.v1.UserService", "shop.v1.ShelfService"})
    assert not serves_filmstudio({"grpc.health.v1.Health"})
