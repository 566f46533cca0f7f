"""Start-up time of the command line, as a ratio to the interpreter's own start-up.

Runs `matcalc diff "x^T A x" x` (the installed command, and `python -m matcalc`)
and `python -c pass`, alternating, so that both see the same machine load, and
prints the median wall time of each and the ratio of medians.  Issue 12's goal
is a ratio of at most 4.  The children run with bytecode caching on (without
PYTHONDONTWRITEBYTECODE), as an installed package runs: pip compiles its bytecode.

    python benchmarks/startup.py [--samples N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

EXPRESSION = ("diff", "x^T A x", "x")


def _commands() -> dict:
    installed = Path(sys.executable).with_name("matcalc")
    commands = {"python -c pass": [sys.executable, "-c", "pass"]}
    if installed.exists() or shutil.which("matcalc"):
        commands['matcalc diff "x^T A x" x'] = [str(installed if installed.exists() else shutil.which("matcalc")),
                                                 *EXPRESSION]
    commands['python -m matcalc diff "x^T A x" x'] = [sys.executable, "-m", "matcalc", *EXPRESSION]
    return commands


ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def _wall_time(command: list) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=ENVIRONMENT)
    return time.perf_counter() - start


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--samples", type=int, default=20, help="runs of each command (default 20)")
    samples = options.parse_args().samples
    commands = _commands()
    for command in commands.values():    # warm the file cache, the bytecode and matcalc's parser cache
        _wall_time(command)
    times = {name: [] for name in commands}
    for _ in range(samples):
        for name, command in commands.items():
            times[name].append(_wall_time(command))
    floor = statistics.median(times["python -c pass"])
    print(f"{'command':<40} {'median':>9} {'ratio':>7}")
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"{name:<40} {median * 1000:7.1f}ms {median / floor:6.1f}x")


if __name__ == "__main__":
    main()
