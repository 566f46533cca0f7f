"""Shared fixtures, and the suite's two tiers.

A plain `pytest` runs the quick tier: every test module and every test function, in
under two minutes of CPU time on two cores.  The slow tier (marker `slow`) is left out
of it and run by `pytest --run-slow` or MATCALC_RUN_SLOW=1 (.ci/run sets it), by a `-m` expression that chooses
(`-m slow`), or by naming a test file or a test on the command line.  The slow tier is:
- every test that renders with KaTeX (it uses the `katex` fixture);
- the tests in SLOW_TESTS, measured with `pytest --durations`: executing the notebooks,
  rebuilding damaged parser caches, collecting the whole suite, the slowest property test;
- the large sweeps (a test with more than SWEEP_SIZE cases, such as the identity table
  in every layout) but every SWEEP_SAMPLE-th case, so the quick tier keeps a sample of each.

KaTeX is installed by .ci/run (npm), never by the tests: where it is missing, the
tests that need it skip at once, saying how to install it.
"""
import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
KATEX_VERSION = "0.16"
SLOW_TESTS = {"test_notebooks.py::test_notebook_executes",      # 14 s for five notebooks
              "test_properties.py::test_hessian_by_matrix",    # 21 s alone
              "test_parse.py::test_a_damaged_parser_cache_is_rebuilt_and_rewritten",  # 18 s: grammars rebuilt
              "test_tiers.py::test_the_quick_tier_leaves_out_the_slow_one_and_samples_sweeps",
              "test_tiers.py::test_naming_a_file_or_choosing_by_marker_runs_the_slow_tier"}   # collect the suite
SWEEP_SIZE = 100
SWEEP_SAMPLE = 4
_LEFT_OUT = pytest.StashKey[int]()


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true",
                     help="run the slow tier too: notebooks, KaTeX renders, whole sweeps (.ci/run does)")


def _function(item) -> str:
    return f"{item.path.name}::{item.originalname if hasattr(item, 'originalname') else item.name}"


def _is_slow(item, sweep_sizes: Counter, position: int) -> bool:
    if _function(item) in SLOW_TESTS:
        return True
    if "katex" in getattr(item, "fixturenames", ()):
        return True
    return sweep_sizes[_function(item)] > SWEEP_SIZE and position % SWEEP_SAMPLE != 0


def _names_tests(config) -> bool:
    """Whether the command line names test files or tests (not only folders)."""
    for arg in config.option.file_or_dir or ():
        path = arg.split("::", 1)[0]
        if "::" in arg or path.endswith(".py") or Path(path).is_file():
            return True
    return False


def pytest_collection_modifyitems(config, items):
    sweep_sizes = Counter(_function(item) for item in items)
    positions = Counter()
    for item in items:
        function = _function(item)
        if _is_slow(item, sweep_sizes, positions[function]):
            item.add_marker(pytest.mark.slow)
        positions[function] += 1
    if _run_slow(config) or config.getoption("markexpr") or _names_tests(config):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
        config.hook.pytest_deselected(items=slow)
        config.stash[_LEFT_OUT] = len(slow)


def _run_slow(config) -> bool:
    """--run-slow, or MATCALC_RUN_SLOW=1: .ci/run sets it, so it calls the README's plain `pytest`."""
    return config.getoption("--run-slow") or os.environ.get("MATCALC_RUN_SLOW") == "1"


def pytest_report_header(config):
    if _run_slow(config):
        return "matcalc: quick and slow tiers (--run-slow or MATCALC_RUN_SLOW=1)"
    return None


def pytest_terminal_summary(terminalreporter, config):
    left_out = config.stash.get(_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(f"matcalc: the quick tier ran; {left_out} tests of the slow tier were left out "
                                    f"(notebooks, KaTeX, whole sweeps): pytest --run-slow runs them, as .ci/run does")


def _katex_module() -> Path:
    configured = os.environ.get("MATCALC_KATEX")
    folder = Path(configured) if configured else Path.home() / ".cache" / "matcalc" / "katex"
    return folder / "node_modules" / "katex"


@pytest.fixture(scope="session")
def katex():
    """A function rendering a list of LaTeX strings with KaTeX, returning None or the error for each.

    KaTeX is looked for in $MATCALC_KATEX or ~/.cache/matcalc/katex (node_modules/katex);
    .ci/run installs it there."""
    module = _katex_module()
    if not shutil.which("node"):
        pytest.skip("node is not installed: the LaTeX is rendered with KaTeX under node (.ci/run needs both)")
    if not module.is_dir():
        pytest.skip(f"KaTeX is not installed in {module.parent.parent}: .ci/run installs it "
                    f"(npm install --prefix {module.parent.parent} katex@{KATEX_VERSION}); "
                    f"MATCALC_KATEX names another folder")

    def render(texts):
        result = subprocess.run(["node", str(HERE / "katex_render.js"), str(module)], input=json.dumps(texts),
                                capture_output=True, text=True, check=True, timeout=300)
        return json.loads(result.stdout)
    return render
