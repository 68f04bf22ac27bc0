"""The gateway's core knows no FilmStudio code: only its binding and its CLI import `services`."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# The FilmStudio binding and the command that serves it; every other module is the core.
MAY_IMPORT_SERVICES = {"gateway/filmstudio.py", "gateway/cli.py"}
# `python -m gateway` is the command, so it may go through the CLI; the core may not.
MAY_IMPORT_BINDING = MAY_IMPORT_SERVICES | {"gateway/__main__.py"}
BINDING = ("gateway.filmstudio", "gateway.cli")


def imported(source: str) -> Iterator[str]:
    """Yield every absolute module name a module imports, statically or via import_module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield str(node.args[0].value)


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def _imports_by_module() -> dict[str, set[str]]:
    return {
        path.relative_to(ROOT).as_posix(): set(imported(path.read_text(encoding="utf-8")))
        for path in sorted((ROOT / "gateway").rglob("*.py"))
    }


def test_only_the_binding_and_the_cli_import_services() -> None:
    offenders = {
        module: sorted(name for name in names if _within(name, ("services",)))
        for module, names in _imports_by_module().items()
        if module not in MAY_IMPORT_SERVICES
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_the_core_does_not_reach_the_services_through_the_binding() -> None:
    offenders = {
        module: sorted(name for name in names if _within(name, BINDING))
        for module, names in _imports_by_module().items()
        if module not in MAY_IMPORT_BINDING
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_the_scan_sees_imports_of_every_form() -> None:
    source = (
        "import services.common.config\n"
        "from services.common import logs\n"
        "def f():\n"
        "    from gateway.filmstudio import filmstudio_config\n"
        "    importlib.import_module('services.bootstrap')\n"
    )
    names = set(imported(source))
    assert {"services.common.config", "services.common.logs", "services.bootstrap"} <= names
    assert "gateway.filmstudio" in names
    # The binding itself does import services: the scan would notice one elsewhere.
    assert any(_within(name, ("services",)) for name in _imports_by_module()["gateway/cli.py"])
