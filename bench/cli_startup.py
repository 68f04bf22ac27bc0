"""`filmstudio stage script-analysis` start to finish, against a bare Python start and screenplain.

Times whole commands as a user runs them (new process each run, the venv's `filmstudio` entry
point, a small screenplay, output to /dev/null), alternating the commands round by round so that
a noisy machine slows them all alike:

- `python -c pass`: the floor, what any Python command pays;
- `filmstudio stage script-analysis FILE`: the stage command (goal: under 0.4 s in all);
- `filmstudio --help`: what a command costs that imports the whole studio (the old start-up);
- `screenplain FILE`, where installed: a Fountain tool's whole run, for reference.

Prints each one's median and the stage command's ratios to the floor and the whole studio.

    .venv/bin/python bench/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 0.4
SCRIPT = "INT. LAB - NIGHT\n\nThe lights hum.\n\nANNA\nIt works!\n\nBEN\nOf course it works.\n"


def _commands(bin_dir: Path, script: Path) -> dict[str, list[str]]:
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "stage script-analysis": [
            str(bin_dir / "filmstudio"),
            "stage",
            "script-analysis",
            str(script),
        ],
        "filmstudio --help": [str(bin_dir / "filmstudio"), "--help"],
    }
    screenplain = shutil.which("screenplain") or shutil.which("screenplain", path=str(bin_dir))
    if screenplain:
        commands["screenplain (reference)"] = [screenplain, str(script)]
    return commands


def _time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    """Time the commands and print their medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "lab.fountain"
        script.write_text(SCRIPT)
        env = {**os.environ, "FILMSTUDIO_VAR_DIR": str(Path(tmp) / "var")}
        env.pop("S3_BUCKET_NAME", None)
        commands = _commands(bin_dir, script)
        for argv in commands.values():  # warm the page cache and the bytecode
            _time(argv, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                times[name].append(_time(argv, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:26} median {median * 1000:7.1f} ms  (min {min(times[name]) * 1000:.1f})")
    stage = medians["stage script-analysis"]
    print(f"stage / python -c pass:    {stage / medians['python -c pass']:.2f}x")
    print(f"stage / filmstudio --help: {stage / medians['filmstudio --help']:.2f}x")
    verdict = "met" if stage < GOAL_SECONDS else "NOT met"
    print(f"goal: the stage command under {GOAL_SECONDS} s: {stage:.3f} s, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
