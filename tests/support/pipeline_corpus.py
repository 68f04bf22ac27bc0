"""Where the shared sample inputs live: `shared/corpus` inside or beside the checkout."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def corpus_file(name: str) -> Path:
    """Return the path of a corpus file (read-only: copy it before changing it)."""
    for base in (ROOT / "shared" / "corpus", ROOT.parent / "shared" / "corpus"):
        if (base / name).is_file():
            return base / name
    raise FileNotFoundError(f"corpus file {name} not found under shared/corpus")


SAMPLE_SCREENPLAY = "brick-and-steel.fountain"
