"""Start-up time of the command line, as a ratio to the interpreter's own start-up.

Runs `matcalc diff "x^T A x" x` (the installed command, and `python -m matcalc`)
and `python -c pass`, alternating, so that both see the same machine load, and
prints the median wall time of each and the ratio of medians (and the same for
CPU time, which a loaded machine disturbs less).  Issue 12's goal
is a ratio of at most 4.  The children run with bytecode caching on (without
PYTHONDONTWRITEBYTECODE), as an installed package runs: pip compiles its bytecode.

    python benchmarks/startup.py [--samples N]
"""
from __future__ import annotations

import argparse
import os
import resource
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


def _times(command: list) -> tuple:
    """(wall, CPU) seconds of one run; CPU time (user + system) varies less with machine load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=ENVIRONMENT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--samples", type=int, default=20, help="runs of each command (default 20)")
    samples = options.parse_args().samples
    commands = _commands()
    for command in commands.values():    # warm the file cache, the bytecode and matcalc's parser cache
        _times(command)
    walls = {name: [] for name in commands}
    cpus = {name: [] for name in commands}
    for _ in range(samples):
        for name, command in commands.items():
            wall, cpu = _times(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
    floor, cpu_floor = statistics.median(walls["python -c pass"]), statistics.median(cpus["python -c pass"])
    print(f"{'command':<40} {'wall':>9} {'ratio':>7} {'CPU':>9} {'ratio':>7}")
    for name in commands:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"{name:<40} {wall * 1000:7.1f}ms {wall / floor:6.1f}x {cpu * 1000:7.1f}ms {cpu / cpu_floor:6.1f}x")


if __name__ == "__main__":
    main()
