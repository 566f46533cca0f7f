"""The suite's tiers (tests/conftest.py): a plain `pytest` leaves the slow tier out,
`--run-slow`, `-m` or naming a test file brings it back, and a sweep keeps a sample."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def collected(*args, env=None):
    """The test ids `pytest --collect-only` selects with `args`, and its summary line; the
    environment's MATCALC_RUN_SLOW (set by .ci/run) is left out unless `env` gives it."""
    environment = {k: v for k, v in os.environ.items() if k != "MATCALC_RUN_SLOW"} | (env or {})
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env=environment)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    return ids, result.stdout


def _count(ids, function):
    return sum(1 for i in ids if i.split("[")[0].endswith("::" + function))


def test_the_quick_tier_leaves_out_the_slow_one_and_samples_sweeps():
    chosen = "notebook or test_identity"
    quick, summary = collected("-k", chosen)
    everything, _ = collected("-k", chosen, "--run-slow")
    assert collected("-k", chosen, env={"MATCALC_RUN_SLOW": "1"})[0] == everything
    assert _count(quick, "test_notebook_executes") == 0 < _count(everything, "test_notebook_executes")
    assert _count(quick, "test_notebook_has_value_checks") == _count(everything, "test_notebook_has_value_checks") > 0
    sweep = _count(everything, "test_identity")
    assert sweep > 100 and _count(quick, "test_identity") == -(-sweep // 4)    # conftest.SWEEP_SAMPLE
    assert re.search(r"\d+ deselected", summary)


def test_naming_a_file_or_choosing_by_marker_runs_the_slow_tier():
    named, _ = collected("tests/test_notebooks.py")
    assert _count(named, "test_notebook_executes") == 5
    slow, _ = collected("-m", "slow", "-k", "test_notebooks")
    assert slow and all("test_notebook_executes" in i for i in slow)
