"""check() is an independent oracle: it starts from what the user typed, not from the
engine's canonical reading, so a wrong rewrite in the constructors or the rules is caught."""
import pytest

import matcalc
from matcalc import expr as E
from matcalc import rules
from matcalc.errors import CheckError


def _fold_always(base, inner, outer, raise_to):
    """The old, wrong fold: (u^p)^q = u^(p q) for every q."""
    return raise_to(base, E.mul(inner, outer))


@pytest.mark.parametrize("text, variable", [
    ("sum((x .^ 2) .^ 0.5)", "x"),
    ("sum((x .^ 2) .^ 1.5)", "x"),
    ("sum((X .* X) .^ 0.5)", "X"),
])
def test_check_catches_a_wrong_power_fold(monkeypatch, text, variable):
    assert matcalc.diff(text, variable).check()
    monkeypatch.setattr(E, "_folded_power", _fold_always)
    wrong = matcalc.diff(text, variable)
    with pytest.raises(CheckError):
        wrong.check()


def test_check_catches_a_rule_constant_of_the_wrong_size(monkeypatch):
    text = "x^T x tr(inv(Y) Y)"
    assert matcalc.diff(text, "x").check()
    monkeypatch.setattr(rules, "_bound_sizes", lambda bindings: {})   # I keeps the rules file's n
    with pytest.raises(CheckError):
        matcalc.diff(text, "x").check()


@pytest.mark.parametrize("text, variable, values, expected", [
    ("sum((x .^ 2) .^ 0.5)", "x", {"x": [-2.0, 3.0]}, [[-1.0], [1.0]]),
    ("x^T x tr(inv(Y) Y)", "x", {"x": [1.0, 2.0, 3.0], "Y": [[2.0, 1.0], [0.0, 1.0]]}, [[4.0], [8.0], [12.0]]),
    ("sum(Y inv(Y))", "Y", {"Y": [[2.0, 1.0], [0.0, 1.0]]}, [[0.0, 0.0], [0.0, 0.0]]),
])
def test_values_where_the_engine_was_wrong(text, variable, values, expected):
    d = matcalc.diff(text, variable)
    assert d.evaluate(values).tolist() == expected
    d.check()


def test_powers_fold_only_where_that_is_an_identity():
    assert str(matcalc.parse("(x .^ 2) .^ 3")) == str(matcalc.parse("x .^ 6"))
    assert str(matcalc.parse("(x .^ 2) .^ 0.5")) == str(matcalc.parse("abs(x)"))
    assert str(matcalc.parse("(exp(x) .^ 2) .^ 0.5")) == str(matcalc.parse("exp(x)"))
    assert str(matcalc.parse("(x .^ 3) .^ (1/3)")) != str(matcalc.parse("x"))
    assert str(matcalc.parse("scalar a; (a^2)^(1/2)")) == str(matcalc.parse("scalar a; abs(a)"))
