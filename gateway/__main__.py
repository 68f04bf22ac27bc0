"""`python -m gateway ...`: the gateway command without the rest of the `filmstudio` CLI."""

from __future__ import annotations

import sys

from gateway.cli import main

if __name__ == "__main__":
    sys.exit(main())
