"""The operator table (matcalc/ops.py) against every stage that reads it.

* every operator has what each stage needs (a shape rule, a constructor, a text and a
  LaTeX spelling; NumPy and SymPy definitions together or neither), and every call of
  the language, applied to an argument of a fitting shape, evaluates alike in NumPy and
  SymPy and prints text and LaTeX that read back to the same expression;
* the grammar's function names are exactly the table's calls, and LaTeX reads each one;
* each elementwise function's NumPy and SymPy definitions agree at random points, and
  its derivative rule (rules/differentials.rules, through the engine) agrees with
  SymPy's derivative of its SymPy definition.
"""
import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import matcalc
from matcalc import expr as E
from matcalc import ops
from matcalc.analyse import parse
from matcalc.emit_latex import to_latex
from matcalc.emit_text import to_text
from matcalc.evaluate_numpy import evaluate
from matcalc.evaluate_sympy import symbol_matrix, to_sympy
from matcalc.syntax import function_names

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = [op.name for op in ops.FUNCTIONS]
# the open interval each function is defined (and, for SymPy's sqrt/log, real) on
DOMAIN = {"log": (0.05, 20.0), "sqrt": (0.0, 20.0)}


def test_every_operator_has_what_every_stage_needs():
    for op in ops.OPERATORS.values():
        assert op.shape in ops.SHAPE_RULES, op.name
        assert callable(getattr(E, op.constructor)), op.name
        assert op.text and op.latex, op.name
        assert (op.numpy is None) == (op.sympy is None), op.name
        if op.is_function:
            assert op.numpy and op.sympy and op.code and op.code_sympy and op.code_torch, op.name
        if op.code_helper:
            assert set(op.code_helper) <= {"numpy", "sympy", "jax", "torch"}, op.name
    assert set(ops.CALLS.values()) <= set(ops.OPERATORS.values())
    assert all(op.syntax for op in ops.SYNTAX.values())


def test_the_grammar_names_exactly_the_tables_calls():
    aliases = {"norm1", "norm2"}    # matcalc.org's spellings of ||x||_1 and ||x|| (syntax.py)
    assert set(function_names()) == set(ops.CALLS) | aliases
    latex_grammar = (ROOT / "grammar" / "latex.lark").read_text()
    operatorname = re.search(r"operatorname\\\*\?\|mathrm\|text\|textrm\|mathop\)\\s\*\\\{\\s\*\(([^)]*)\)",
                             latex_grammar).group(1).split("|")
    for word in ops.CALLS:
        if word not in ("inv", "norm", "kron", "commutation"):   # LaTeX writes ^{-1}, \lVert, \otimes, K
            assert word in operatorname, word


# An argument of a fitting shape for each shape rule, as text (sizes fixed by values below).
ARGUMENT = {"same": "x", "column": "x", "column-scalar": "x", "vector-scalar": "x", "scalar": "X",
            "square-scalar": "A", "square-same": "A", "stacked": "X", "diag": "x", "outer": "A, x"}
VALUES = {"x": np.array([[0.3], [1.2], [0.7]]), "X": np.array([[0.5, -1.0], [2.0, 0.25], [1.5, 0.75]]),
          "A": np.array([[2.0, 0.5, 0.1], [0.3, 1.5, -0.2], [0.1, 0.4, 1.8]])}


@pytest.mark.parametrize("word", sorted(w for w in ops.CALLS if ops.CALLS[w].shape in ARGUMENT))
def test_each_call_evaluates_alike_and_reads_back(word):
    text = f"{word}({ARGUMENT[ops.CALLS[word].shape]})"
    analysis = parse(text)
    e = analysis.body
    dims = {d: VALUES[s.name].shape[k] for s in analysis.symbols.values() for k, d in enumerate(s.shape)
            if isinstance(d, str)}
    numeric = evaluate(e, VALUES, dims)
    symbols = {s.name: symbol_matrix(s.name, s.kind, *VALUES[s.name].shape) for s in analysis.symbols.values()}
    exact = to_sympy(e, symbols, dims)
    point = {symbols[name][i, j]: VALUES[name][i, j] for name in symbols
             for i in range(VALUES[name].shape[0]) for j in range(VALUES[name].shape[1])}
    assert np.allclose(numeric, np.array(exact.subs(point).evalf(), dtype=float), rtol=1e-9, atol=1e-12)
    assert parse(to_text(e)).body is e
    assert parse(to_latex(e)).body is e


@pytest.mark.parametrize("name", FUNCTIONS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_numpy_and_sympy_definitions_agree(name, data):
    low, high = DOMAIN.get(name, (-6.0, 6.0))
    values = data.draw(st.lists(st.floats(low, high, allow_nan=False), min_size=1, max_size=5))
    op = ops.OPERATORS[name]
    x = np.array(values).reshape(-1, 1)
    numeric = op.numpy(np, x)
    z = sp.Symbol("z", real=True)
    exact = [float(op.sympy(sp, z).subs(z, v).evalf()) for v in values]
    assert np.allclose(numeric.ravel(), exact, rtol=1e-12, atol=1e-14)


def test_step_and_sign_at_zero_are_one_definition():
    """step(0) = 0 (SYNTAX.md) in NumPy, SymPy, an exact fold and generated code alike."""
    for name, value in (("step", 0), ("sign", 0)):
        op = ops.OPERATORS[name]
        assert op.numpy(np, np.zeros((1, 1)))[0, 0] == value
        assert op.sympy(sp, sp.Integer(0)) == value
        assert op.exact(0) == value
        assert eval(op.code.format("x"), {"np": np}, {"x": np.zeros((1, 1))})[0, 0] == value  # noqa: S307
    assert str(E.func("step", E.number(0))) == "0"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_code_templates_compute_the_numpy_definition(name):
    op = ops.OPERATORS[name]
    low, high = DOMAIN.get(name, (-3.0, 3.0))
    x = np.linspace(low + 0.01, high, 7).reshape(-1, 1)
    namespace = {"np": np}
    if op.code_helper and "numpy" in op.code_helper:
        exec(op.code_helper["numpy"], namespace)  # noqa: S102 - the table's own source, not user text
    assert np.allclose(eval(op.code.format("x"), namespace, {"x": x}), op.numpy(np, x))  # noqa: S307


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_rules_file_differentiates_each_function(name):
    rules = (ROOT / "rules" / "differentials.rules").read_text()
    assert re.search(rf"^d-{name}\s*: d\({name}\(A\)\) =>", rules, re.M), f"no rule for {name}"


@pytest.mark.parametrize("name", [f for f in FUNCTIONS if ops.OPERATORS[f].smooth])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_derivative_rules_agree_with_sympy(name, data):
    low, high = DOMAIN.get(name, (-4.0, 4.0))
    t = data.draw(st.floats(max(low, 0.05) if name in DOMAIN else low, high, allow_nan=False))
    derivative = matcalc.diff(f"{name}(t)", "t", scalars="t")
    z = sp.Symbol("z", real=True)
    expected = float(sp.diff(ops.OPERATORS[name].sympy(sp, z), z).subs(z, t).evalf())
    assert math.isclose(float(np.asarray(derivative.evaluate({"t": t})).ravel()[0]), expected,
                        rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("name", [f for f in FUNCTIONS if not ops.OPERATORS[f].smooth])
def test_nonsmooth_derivative_rules_agree_with_sympy_away_from_zero(name):
    z = sp.Symbol("z", real=True)
    derivative = matcalc.diff(f"{name}(t)", "t", scalars="t")
    for t in (-1.7, -0.3, 0.4, 2.5):
        expected = sp.diff(ops.OPERATORS[name].sympy(sp, z), z).subs(z, t)
        expected = float(expected.replace(sp.DiracDelta, lambda *a: 0).evalf())
        assert math.isclose(float(np.asarray(derivative.evaluate({"t": t})).ravel()[0]), expected, abs_tol=1e-12)


# ---------------------------------------------------------------- erf, the recipe's example, and π

def test_erf_gradient_checks_against_sympy_and_finite_differences():
    """check() compares the result with elementwise SymPy and central finite differences."""
    for text, variable in (("sum(erf(W x))", "W"), ("x .* (1 + erf(x / sqrt(2))) / 2", "x")):
        assert matcalc.diff(text, variable).check()


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-2.5, 2.5, allow_nan=False), min_size=3, max_size=3))
def test_erf_gradient_equals_central_differences(values):
    W = np.array(values[:2] + values[:1]).reshape(3, 1) @ np.array([[1.0, -0.5]])
    x = np.array([[0.4], [-1.1]])
    gradient = matcalc.diff("sum(erf(W x))", "W").evaluate({"W": W, "x": x})
    f = lambda M: float(np.sum(ops.OPERATORS["erf"].numpy(np, M @ x)))  # noqa: E731
    h = 1e-6
    numeric = np.zeros_like(W)
    for i, j in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[i, j] = h
        numeric[i, j] = (f(W + step) - f(W - step)) / (2 * h)
    assert np.allclose(gradient, numeric, rtol=1e-6, atol=1e-8)


def test_pi_is_the_number_unless_declared():
    x = np.array([[1.0], [-2.0]])
    e = parse("2 π x").body
    assert np.allclose(evaluate(e, {"x": x}, {"n": 2}), 2 * np.pi * x)
    assert parse(str(e)).body is e and parse(to_latex(e)).body is e
    declared = parse("vector π; π^T x")
    assert declared.symbols["π"].kind == "vector"
    for array_reading in ("π^T x", "sum(π)", "π .* x", "π[1]", "||π||"):
        with pytest.raises(matcalc.MatcalcError, match="declare it"):
            parse(array_reading)
    assert parse("pi^T x").symbols["pi"].kind == "vector"     # the ASCII name is untouched
    assert parse(r"\boldsymbol{\pi}^\top \mathbf{x}").symbols["pi"].kind == "vector"
    scalar_pi = parse("scalar pi; pi x").body
    assert to_latex(scalar_pi) == r"\mathrm{pi} \mathbf{x}"
