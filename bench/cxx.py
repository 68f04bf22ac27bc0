"""Build the benchmarks' C++ gRPC clients (g++ and Debian's libgrpc++-dev) once per change."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_client(name: str) -> Path | None:
    """Compile bench/NAME.cc into var/bench/NAME unless it is current; None when it cannot."""
    source = ROOT / "bench" / f"{name}.cc"
    binary = ROOT / "var" / "bench" / name
    if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
        return binary
    compiler, pkg_config = shutil.which("g++"), shutil.which("pkg-config")
    if compiler is None or pkg_config is None:
        return None
    flags = subprocess.run(
        [pkg_config, "--cflags", "--libs", "grpc++"], capture_output=True, text=True
    )
    if flags.returncode != 0:
        return None
    binary.parent.mkdir(parents=True, exist_ok=True)
    built = subprocess.run(
        [compiler, "-O2", "-std=c++17", str(source), *flags.stdout.split(), "-o", str(binary)],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        print(f"cannot build bench/{name}.cc:\n{built.stderr[-2000:]}")
        return None
    return binary
