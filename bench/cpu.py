"""CPU time read from /proc, for the benchmarks that charge each process's CPU to its work."""

from __future__ import annotations

import os
from pathlib import Path


def _stat(path: Path) -> tuple[int, float]:
    """Return a process's parent pid and CPU seconds so far (all threads), from its stat file."""
    fields = path.read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Return the CPU time a process has used so far, all its threads, in seconds."""
    return _stat(Path(f"/proc/{pid}/stat"))[1]


def tree_cpu_seconds(pid: int) -> float:
    """Return the CPU time a process and every live descendant have used so far, in seconds."""
    children: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent, seconds = _stat(stat)
        except OSError:
            continue  # it exited meanwhile
        process = int(stat.parent.name)
        children.setdefault(parent, []).append(process)
        used[process] = seconds
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += used.get(current, 0.0)
        pending += children.get(current, [])
    return total
