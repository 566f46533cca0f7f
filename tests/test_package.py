"""The wheel carries grammar/ and rules/, and an installed package finds them there."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(out), "-q"],
                   check=True, capture_output=True)
    return next(out.glob("*.whl"))


def test_wheel_contains_grammar_and_rules(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "matcalc/grammar/matcalc.lark" in names
    assert "matcalc/rules/differentials.rules" in names
    assert "matcalc/rules/simplify.rules" in names


def test_installed_package_finds_its_data(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = ("import matcalc, matcalc.resources as r; "
              "print(r.data_dir('grammar')); print(r.data_dir('rules')); "
              "print(matcalc.diff('x^T A x', 'x'))")
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env=env,
                            capture_output=True, text=True, check=True)
    grammar, rules, derivative = result.stdout.splitlines()
    assert Path(grammar).resolve().is_relative_to(site.resolve())
    assert Path(rules).resolve().is_relative_to(site.resolve())
    assert derivative == "(A + A^T) x"
