"""Every `$ matcalc ...` example in the README prints what the README says it prints."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _examples():
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", README, flags=re.S | re.M):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("$ matcalc "):
                shown = []
                for following in lines[i + 1:]:
                    if following.startswith("$ "):
                        break
                    if following.strip():
                        shown.append(following)
                yield line[2:], shown


EXAMPLES = list(_examples())


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("command, shown", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(command, shown):
    argv = shlex.split(command)[1:]
    result = subprocess.run([sys.executable, "-m", "matcalc", *argv], capture_output=True, text=True)
    printed = (result.stdout + result.stderr).splitlines()
    for expected in shown:
        if expected.startswith("# checked:"):
            assert any(line.startswith("# checked: elementwise SymPy") for line in printed)
        else:
            assert expected in printed, f"{command}: {expected!r} not in {printed!r}"


def test_the_readme_links_the_reference_inside_the_repository():
    links = re.findall(r"\]\(([^)#\s]+)", README)
    assert "docs/language.md" in links and "docs/cli.md" in links and "docs/json.md" in links
    root = Path(__file__).resolve().parent.parent
    for link in links:
        if "://" not in link:
            target = (root / link).resolve()
            assert target.is_relative_to(root), f"{link} points outside the repository"
            assert target.exists(), f"{link} does not exist"
