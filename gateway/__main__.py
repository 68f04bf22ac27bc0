"""`python -m gateway ...`: the gateway command without the rest of the `filmstudio` CLI."""

from __future__ import annotations

import argparse
import sys

from gateway.cli import register
from services.common.config import load_settings
from services.common.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    """Parse `gateway` arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(["gateway", *(sys.argv[1:] if argv is None else argv)])
    settings = load_settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    return int(args.handler(args, settings))


if __name__ == "__main__":
    sys.exit(main())
