"""deploy/: the example manifests parse, run only real `filmstudio` commands and real settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.cli import parse_routes
from services.bootstrap import SERVICES, resolve
from services.cli import _parser
from services.common.config import Settings
from services.topology.layout import SERVICE_KEYS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS = {field.alias for field in Settings.model_fields.values() if field.alias}
# Images that are not FilmStudio's (stand-ins for managed PostgreSQL, Redis and S3).
OTHER_IMAGES = ("postgres:", "redis:", "chrislusf/seaweedfs:")


def _documents() -> Iterator[tuple[str, Any]]:
    for path in sorted([*DEPLOY.glob("k8s/*.yaml"), DEPLOY / "docker-compose.yml"]):
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None:
                yield path.name, document


def _containers() -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every FilmStudio container: k8s pod containers and compose services."""
    for name, document in _documents():
        if name == "docker-compose.yml":
            for service in document["services"].values():
                if not service["image"].startswith(OTHER_IMAGES):
                    yield name, service
            continue
        spec = document.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        for container in pod.get("containers", []):
            yield name, container


def _argv(container: dict[str, Any]) -> list[str]:
    # deploy/Dockerfile's entrypoint is `filmstudio`: k8s gives args, compose a command.
    return [str(part) for part in container.get("args") or container.get("command")]


def test_every_manifest_is_valid_yaml_with_the_pieces_of_the_production_shape() -> None:
    kinds = {(document.get("kind"), document.get("metadata", {}).get("name"))
             for name, document in _documents() if name != "docker-compose.yml"}  # fmt: skip
    for key in SERVICE_KEYS:
        assert ("Deployment", key) in kinds
        assert ("Service", key) in kinds
    expected = {
        ("Deployment", "gateway"),
        ("Deployment", "worker"),
        ("Job", "filmstudio-migrate"),
        ("ConfigMap", "filmstudio-config"),
        ("Secret", "filmstudio-secrets"),
    }
    assert expected <= kinds
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert set(SERVICE_KEYS) | {"gateway", "worker", "migrate"} <= set(compose["services"])


@pytest.mark.parametrize("where", ["k8s", "compose"])
def test_every_command_is_a_real_filmstudio_command_with_real_options(where: str) -> None:
    seen = []
    for name, container in _containers():
        if (name == "docker-compose.yml") != (where == "compose"):
            continue
        argv = _argv(container)
        args = _parser().parse_args(argv)  # argparse exits on an unknown command or option
        if args.command == "serve":
            assert resolve(args.services)
        if args.command == "gateway":
            routed = parse_routes(args.route)
            assert set(routed) == {SERVICES[key].full_name for key in SERVICE_KEYS[1:]}
        seen.append(args.command)
    assert {"serve", "gateway", "worker", "migrate"} <= set(seen)
    assert seen.count("serve") == len(SERVICE_KEYS)


def _env_names() -> Iterator[tuple[str, str]]:
    for name, document in _documents():
        if name == "docker-compose.yml":
            for service in document["services"].values():
                if not service["image"].startswith(OTHER_IMAGES):
                    yield from ((name, key) for key in service.get("environment", {}))
        elif document.get("kind") == "ConfigMap":
            yield from ((name, key) for key in document["data"])
        elif document.get("kind") == "Secret":
            yield from ((name, key) for key in document["stringData"])
    for name, container in _containers():
        yield from ((name, item["name"]) for item in container.get("env", []))


def test_every_environment_variable_is_a_real_setting() -> None:
    names = list(_env_names())
    assert len(names) > 20
    unknown = [(where, key) for where, key in names if key not in SETTINGS]
    assert not unknown, f"not settings in services/common/config.py: {unknown}"


def test_secret_values_are_placeholders() -> None:
    secret = next(doc for name, doc in _documents() if doc.get("kind") == "Secret")
    assert all("CHANGE-ME" in value for value in secret["stringData"].values())


def test_the_topology_names_the_studio_s_services() -> None:
    assert tuple(SERVICES) == SERVICE_KEYS
