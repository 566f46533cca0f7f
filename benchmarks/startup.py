"""Start-up time of the command line, as a ratio to the interpreter's own start-up.

Runs `matcalc diff "x^T A x" x` (the installed command, and `python -m matcalc`)
and `python -c pass`, alternating, so that both see the same machine load, and
prints the least wall time and the least CPU time (user + system) of each, with
their ratios to the interpreter's: on a machine loaded by other work, the least of
many runs is the one least disturbed, and CPU time is disturbed less than wall time.
The medians' ratios follow, for comparison.  Issue 12's goal is a ratio of at most 4.  The children run with bytecode caching on (without
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
FLOOR = "python -c pass"


def _commands() -> dict:
    installed = Path(sys.executable).with_name("matcalc")
    commands = {FLOOR: [sys.executable, "-c", "pass"]}
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
    print(f"{samples} runs of each; least (median) times")
    print(f"{'command':<40} {'wall':>9} {'ratio':>7} {'CPU':>9} {'ratio':>7}   {'median ratios':>13}")
    for name in commands:
        least = min(walls[name]), min(cpus[name])
        median = statistics.median(walls[name]), statistics.median(cpus[name])
        ratios = [value / base for value, base in zip(least, (min(walls[FLOOR]), min(cpus[FLOOR])))]
        median_ratios = [value / base for value, base in
                         zip(median, (statistics.median(walls[FLOOR]), statistics.median(cpus[FLOOR])))]
        print(f"{name:<40} {least[0] * 1000:7.1f}ms {ratios[0]:6.1f}x {least[1] * 1000:7.1f}ms {ratios[1]:6.1f}x"
              f"   ({median_ratios[0]:.1f}x, {median_ratios[1]:.1f}x)")


if __name__ == "__main__":
    main()
