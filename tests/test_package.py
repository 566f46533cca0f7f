"""The package's conventions: the wheel carries grammar/, rules/ and py.typed, an installed
package finds its data, one version everywhere, and `import matcalc` is cheap and complete."""
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
    assert "matcalc/py.typed" in names       # PEP 561: type checkers read the package's hints
    assert {"matcalc/web/index.html", "matcalc/web/katex/katex.min.js"} <= names   # matcalc serve, offline


def test_one_version_everywhere(wheel):
    import matcalc
    assert wheel.name.startswith(f"matcalc_engine-{matcalc.__version__}-")
    metadata = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA"))
    assert f"Version: {matcalc.__version__}" in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()


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


def test_import_is_cheap_and_the_engine_loads_on_first_use():
    script = ("import sys, matcalc; heavy = ('lark', 'sympy', 'numpy', 'matcalc.api'); "
              "print(sorted(m for m in heavy if m in sys.modules)); "
              "print(matcalc.diff('x^T A x', 'x')); print('matcalc.api' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["[]", "(A + A^T) x", "True"]


def test_the_public_names():
    import matcalc
    from matcalc import errors
    for name in matcalc.__all__:
        assert getattr(matcalc, name) is not None and name in dir(matcalc)
    assert matcalc.CheckError is errors.CheckError and issubclass(matcalc.CheckError, matcalc.MatcalcError)
    for name in ("ParseError", "ShapeError", "UnknownNameError", "NotDifferentiableError", "LimitError"):
        assert issubclass(getattr(matcalc, name), matcalc.MatcalcError)
    assert isinstance(matcalc.diff("x^T x", "x"), matcalc.Derivative)
    with pytest.raises(AttributeError):
        matcalc.no_such_name
    hints = matcalc.parse.__annotations__     # strings: the engine's types load only for type checkers
    assert hints["text"] == "str" and hints["return"] == "Expr"


@pytest.mark.parametrize("call", [lambda m: m.parse(None), lambda m: m.parse(3), lambda m: m.parse("x", scalars=3),
                                  lambda m: m.parse("x", declare=[1])])
def test_parse_refuses_what_is_not_text_with_a_matcalc_error(call):
    import matcalc
    with pytest.raises(matcalc.MatcalcError):
        call(matcalc)


def test_parse_takes_declarations_as_diff_does():
    import matcalc
    assert str(matcalc.parse("a x", scalars="a")) == str(matcalc.parse("a x", scalars=["a"])) == "a x"
    assert matcalc.parse("a x", scalars="a").shape == matcalc.parse("x").shape
    assert str(matcalc.parse("a^T x", scalars=None)) == str(matcalc.parse("a^T x")) == "a^T x"
    with pytest.raises(matcalc.ShapeError):
        matcalc.parse("a x", scalars=None)       # no declaration: a is a vector
