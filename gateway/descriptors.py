"""Where the gateway's descriptors come from, and the comments of their .proto sources."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor

from gateway.config import GatewayConfig
from gateway.routing import http_rule

log = logging.getLogger(__name__)

# FileDescriptorProto / DescriptorProto / ... field numbers, as source_code_info paths use them.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_ENUM_VALUE, _SERVICE_METHOD = 2, 2


def load_file_set(path: Path) -> descriptor_pb2.FileDescriptorSet:
    """Read a FileDescriptorSet (protoc --descriptor_set_out, buf build -o x.binpb)."""
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


def _file_set(config: GatewayConfig) -> descriptor_pb2.FileDescriptorSet:
    if config.file_set is not None:
        return config.file_set
    assert config.descriptor_set is not None
    return load_file_set(config.descriptor_set)


def pool_from_file_set(files: descriptor_pb2.FileDescriptorSet) -> descriptor_pool.DescriptorPool:
    """Build a private pool from a descriptor set (it must include its imports)."""
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    return pool


def load_services(
    config: GatewayConfig,
) -> tuple[descriptor_pool.DescriptorPool, list[ServiceDescriptor]]:
    """Return the pool and the services the gateway exposes."""
    names = list(config.services)
    if config.file_set is not None or config.descriptor_set is not None:
        files = _file_set(config)
        pool = pool_from_file_set(files)
        if not names:
            names = [
                f"{file.package}.{service.name}" if file.package else service.name
                for file in files.file
                for service in file.service
            ]
    else:
        pool = config.pool or descriptor_pool.Default()
        if not names:
            raise ValueError("name the services to expose, or give a descriptor set")
    services = [pool.FindServiceByName(name) for name in names]
    routed = [s for s in services if any(http_rule(m) is not None for m in s.methods)]
    if config.services:
        return pool, services
    return pool, routed


def compile_with_sources(
    files: Iterable[str], include: Iterable[Path]
) -> descriptor_pb2.FileDescriptorSet | None:
    """Compile .proto files with grpc_tools (when installed) to get their comments."""
    try:
        # A dev-only tool, optional at run time.
        from grpc_tools import protoc
    except ImportError:
        log.info("grpc_tools is not installed; OpenAPI descriptions are left out")
        return None
    bundled = Path(protoc.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "set.binpb")
        args = [
            "protoc",
            *(f"-I{path}" for path in include),
            f"-I{bundled}",
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *files,
        ]
        if protoc.main(args) != 0 or not out.exists():
            log.warning("could not compile %s for their comments", ", ".join(files))
            return None
        return load_file_set(out)


class _Comments:
    """Collect the leading comments of one file's elements by their full names."""

    def __init__(self, file: descriptor_pb2.FileDescriptorProto, found: dict[str, str]) -> None:
        self.found = found
        self.by_path = {
            tuple(location.path): location.leading_comments.strip()
            for location in file.source_code_info.location
            if location.leading_comments.strip()
        }

    def note(self, name: str, path: tuple[int, ...]) -> None:
        if path in self.by_path:
            self.found[name] = " ".join(line.strip() for line in self.by_path[path].splitlines())

    def enum(
        self, enum: descriptor_pb2.EnumDescriptorProto, name: str, path: tuple[int, ...]
    ) -> None:
        self.note(name, path)
        for index, value in enumerate(enum.value):
            self.note(f"{name}.{value.name}", (*path, _ENUM_VALUE, index))

    def message(
        self, message: descriptor_pb2.DescriptorProto, name: str, path: tuple[int, ...]
    ) -> None:
        self.note(name, path)
        for index, item in enumerate(message.field):
            self.note(f"{name}.{item.name}", (*path, _MESSAGE_FIELD, index))
        for index, nested in enumerate(message.nested_type):
            self.message(nested, f"{name}.{nested.name}", (*path, _MESSAGE_NESTED, index))
        for index, enum in enumerate(message.enum_type):
            self.enum(enum, f"{name}.{enum.name}", (*path, _MESSAGE_ENUM, index))


def comments(files: descriptor_pb2.FileDescriptorSet) -> dict[str, str]:
    """Map full element names (messages, fields, enums, values, services, methods) to comments."""
    found: dict[str, str] = {}
    for file in files.file:
        collect = _Comments(file, found)
        prefix = f"{file.package}." if file.package else ""
        for index, message in enumerate(file.message_type):
            collect.message(message, prefix + message.name, (_FILE_MESSAGE, index))
        for index, enum in enumerate(file.enum_type):
            collect.enum(enum, prefix + enum.name, (_FILE_ENUM, index))
        for index, service in enumerate(file.service):
            name = prefix + service.name
            collect.note(name, (_FILE_SERVICE, index))
            for method_index, method in enumerate(service.method):
                collect.note(
                    f"{name}.{method.name}", (_FILE_SERVICE, index, _SERVICE_METHOD, method_index)
                )
    return found


def load_comments(config: GatewayConfig, services: Iterable[ServiceDescriptor]) -> dict[str, str]:
    """Return the comments of the exposed services' files, from whichever source has them."""
    if config.file_set is not None or config.descriptor_set is not None:
        found = comments(_file_set(config))
        if found:
            return found
    if not config.proto_paths:
        return {}
    files = sorted({service.file.name for service in services})
    compiled = compile_with_sources(files, config.proto_paths)
    return comments(compiled) if compiled is not None else {}
