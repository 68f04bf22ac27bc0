"""`python -m services.topology up|down|status`: what `make up`, `make down`, `make status` run."""

from __future__ import annotations

import argparse
import sys

from services.topology import control
from services.topology.layout import Layout


def main(argv: list[str] | None = None) -> int:
    """Run one action and return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m services.topology", description=__doc__)
    parser.add_argument("action", choices=("up", "down", "status"))
    args = parser.parse_args(argv)
    try:
        layout = Layout.from_env()
    except ValueError as error:
        sys.stderr.write(f"topology: {error}\n")
        return 2
    return int(
        {"up": control.up, "down": control.down, "status": control.status}[args.action](layout)
    )


if __name__ == "__main__":
    sys.exit(main())
