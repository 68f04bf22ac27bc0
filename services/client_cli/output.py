"""How the client prints: proto3 JSON for scripts (--json), a small table for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message


def emit_json(value: Message | Sequence[Message] | dict[str, Any]) -> None:
    """Write a message, a list of messages or a dict as one JSON document on stdout."""
    if isinstance(value, Message):
        document: Any = json_format.MessageToDict(value)
    elif isinstance(value, dict):
        document = value
    else:
        document = [json_format.MessageToDict(item) for item in value]
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def to_dict(message: Message) -> dict[str, Any]:
    """Return a message as proto3 JSON (lowerCamelCase names, enums by name)."""
    return dict(json_format.MessageToDict(message))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a table on stdout."""
    from rich.console import Console
    from rich.table import Table

    view = Table(*headers, box=None, header_style="bold")
    for row in rows:
        view.add_row(*(str(cell) for cell in row))
    Console().print(view)


def say(text: str) -> None:
    """Print one line for people on stdout."""
    sys.stdout.write(text + "\n")


def warn(text: str) -> None:
    """Print one line on stderr."""
    sys.stderr.write(f"filmstudio: {text}\n")


def enum_name(enum: Any, value: int, prefix: str) -> str:
    """Return an enum value's name without its prefix, lower case (JOB_STATUS_RUNNING: running)."""
    return str(enum.Name(value)).removeprefix(prefix).lower()
