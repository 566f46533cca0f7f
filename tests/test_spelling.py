"""One spelling for each thing in a result (issue 9, item 3), and the display pass.

- An inverse is spelled one way throughout a result: `inv(X)` where the input wrote only
  `inv(...)`, `X^-1` (the textbooks' spelling) otherwise; in the text, its index form and
  its vec form alike.
- A product whose factors are mostly transposes prints as the transpose of the reversed
  product where that takes fewer tokens, in text and LaTeX alike.
- A multiple of the ones vector prints as `c 1`.
- A sum the user typed prints in the order typed (`softmax(W x + b)`, not `softmax(b + W x)`).
Each printed result reads back (with the same declarations) as the value it states: the
oracle is `Derivative.evaluate`, itself checked against SymPy and finite differences by
the identity table.  The spellings are asserted, not whole results, which the
simplifier is free to shorten.
"""
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import matcalc
from matcalc import expr as E
from matcalc.emit_text import display_cost, to_text
from matcalc.evaluate_at import bind
from matcalc.evaluate_numpy import evaluate

import oracle
from test_identities import HIGHER, ROWS

CALL = re.compile(r"\binv\(")
POSTFIX = re.compile(r"\^-[1T]|\^\(-[1T]\)|⁻¹|⁻ᵀ")


def typed_spelling(text: str) -> str:
    """The test's own reading of the input: which inverse spellings it contains."""
    return {(True, False): "call"}.get((bool(CALL.search(text)), bool(POSTFIX.search(text))), "postfix")


def assert_one_spelling(printed: str, wanted: str):
    if wanted == "call":
        assert not POSTFIX.search(printed), printed
    else:
        assert not CALL.search(printed), printed


def declarations(dims: dict) -> tuple:
    return tuple(f"{n}: {spec.split()[0]}" for n, spec in dims.items())


def value_read_back(d, text: str, values: dict, declare: tuple, decl: dict, shape: tuple):
    """parse(text) at the point, with the sizes of the function's symbols; the outermost
    shape, which the text may leave to the reader (`1^T`, `2 I`), is `shape`."""
    back = matcalc.parse(text, declare=declare, **decl)
    env, dims = bind(d.analysis.symbols, values)
    for mine, size in zip(back.shape, shape):
        if isinstance(mine, str) and mine not in dims:
            dims[mine] = size
    return back, evaluate(back, env, dims)


INVERTING = re.compile(r"\binv\(|\^\(?-|⁻¹|det\(")    # an input whose derivative may hold an inverse


def _table():
    """The identity table's rows whose derivative may hold an inverse and whose sizes a
    declaration can state (not vector[n*k])."""
    rows = [(row.expr, (row.wrt,), row.dims, row.decl, row.id) for row in ROWS]
    rows += [(expr, tuple(variables), dims, decl, hid) for hid, expr, variables, dims, _, decl in HIGHER]
    for expression, variables, dims, decl, key in rows:
        if INVERTING.search(expression) and not any("*" in str(spec) for spec in dims.values()):
            yield pytest.param(expression, variables, dims, decl, key, id=key)


@pytest.mark.parametrize("layout", ["mixed", "numerator", "denominator"])
@pytest.mark.parametrize("expression, variables, dims, decl, key", list(_table()))
def test_identity_table_results_spell_the_inverse_as_typed_and_read_back(expression, variables, dims,
                                                                        decl, key, layout):
    declare = declarations(dims) + tuple(decl.get("declare", ()))
    decl = {k: v for k, v in decl.items() if k != "declare"}
    d = matcalc.diff(expression, variables, layout=layout, declare=declare, **decl)
    wanted = typed_spelling(expression)
    assert d.inverse_spelling == wanted
    printed = str(d)
    assert_one_spelling(printed, wanted)
    if d.is_tensor:
        assert_one_spelling(str(d.vec()), wanted)
        return
    values = oracle.to_matcalc(oracle.make_values(dims, oracle.seed_for(key)), dims)
    want = np.atleast_2d(d.evaluate(values))
    back, got = value_read_back(d, printed, values, declare, decl, want.shape)
    if got.shape != want.shape:      # 0, or c 1: a number broadcast to the stated shape
        assert got.shape == (1, 1) and (printed == "0" or printed.endswith(" 1") or printed == "1"), printed
        got = np.broadcast_to(got, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=printed)


# Inputs with an inverse: {inv} is where a spelling is drawn
TEMPLATES = [
    ("tr(A {X} C)", "X"), ("logdet(X) + tr({X})", "X"), ("a^T {X} b", "X"), ("x^T {A} x", "x"),
    ("tr({X} A {X})", "X"), ("{X} b", "X"), ("{X} A", "X"), ("tr({X}^2)", "X"),
    ("logdet(S) + (x - mu)^T {S} (x - mu)", "S"), ("(x - mu)^T {S} (x - mu)", "mu"),
    ("{(A + t C)} b", "t"), ("tr({(X^T X)})", "X"), ("det({X})", "X"),
]
SPELL = {"call": "inv({})", "postfix": "{}^-1", "paren": "{}^(-1)", "unicode": "{}⁻¹", "transposed": "{}^-T"}
DIMS = {"A": "matrix[n,n]", "C": "matrix[n,n]", "X": "matrix[n,n] inv", "S": "symmetric[n] pd",
        "a": "vector[n]", "b": "vector[n]", "x": "vector[n]", "mu": "vector[n]", "t": "scalar"}


def _spelled(template: str, spellings: list) -> str:
    pieces = re.split(r"\{([^}]*)\}", template)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            out.append(piece)
        else:
            operand = piece if piece.startswith("(") or len(piece) == 1 else f"({piece})"
            spelling = spellings[(i // 2) % len(spellings)]
            out.append(SPELL[spelling].format(piece.strip("()") if spelling == "call" else operand))
    return "".join(out)


@settings(derandomize=True, database=None, deadline=None, max_examples=120,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.sampled_from(TEMPLATES), st.lists(st.sampled_from(sorted(SPELL)), min_size=1, max_size=2),
       st.sampled_from(["mixed", "numerator", "denominator"]), st.booleans())
def test_random_inputs_answer_in_their_own_spelling(template, spellings, layout, symmetric):
    text, wrt = template
    source = _spelled(text, spellings)
    dims = {n: spec for n, spec in DIMS.items() if re.search(rf"\b{n}\b", source)}
    if not symmetric:
        dims = {n: spec.replace("symmetric[n] pd", "matrix[n,n] inv") for n, spec in dims.items()}
    declare = declarations(dims)
    try:
        d = matcalc.diff(source, wrt, layout=layout, declare=declare, scalars=("t",))
    except matcalc.MatcalcError:
        assume(False)
    wanted = typed_spelling(source)
    printed = str(d)
    assert_one_spelling(printed, wanted)
    assert_one_spelling(d.latex(), "postfix")          # LaTeX has one spelling: X^{-1}
    if d.is_tensor:
        assert_one_spelling(str(d.vec()), wanted)
        return
    values = oracle.to_matcalc(oracle.make_values(dims, oracle.seed_for(source)), dims)
    want = np.atleast_2d(d.evaluate(values))
    _, got = value_read_back(d, printed, values, declare, {"scalars": ("t",)}, want.shape)
    np.testing.assert_allclose(np.broadcast_to(got, want.shape), want, rtol=1e-8, atol=1e-10, err_msg=printed)


def test_the_spelling_of_the_input_names_the_result():
    assert str(matcalc.diff("tr(A inv(X) C)", "X")) == "-(inv(X) C A inv(X))^T"
    assert str(matcalc.diff("tr(A X^-1 C)", "X")) == "-(X^-1 C A X^-1)^T"
    assert str(matcalc.diff("tr(A X⁻¹ C)", "X")) == "-(X^-1 C A X^-1)^T"
    # the index form and the vec form of a tensor follow it too
    d = matcalc.diff("inv(X)", "X")
    assert "inv(X)" in str(d) and "^-1" not in str(d) and str(d.vec()) == "-kron(inv(X)^T, inv(X))"
    d = matcalc.diff("X^-1", "X")
    assert "inv(" not in str(d) and str(d.vec()) == "-kron(X^-T, X^-1)"
    assert str(matcalc.diff("logdet(X)", "X")) == "X^-T"          # nothing typed: the textbooks' X^-1


# ------------------------------------------------------------------ the display pass
SQUARES = {name: E.symbol(name, ("n", "n"), "matrix") for name in "ABCX"}
S = E.symbol("S", ("n", "n"), "symmetric")
SQUARE_DECLARATIONS = tuple(f"{name}: matrix[n,n]" for name in SQUARES) + ("S: symmetric[n]",)


@st.composite
def square_factors(draw):
    base = draw(st.sampled_from([*SQUARES.values(), S]))
    form = draw(st.sampled_from(["plain", "T", "inv", "invT"]))
    return {"plain": base, "T": E.transpose(base), "inv": E.inverse(base),
            "invT": E.transpose(E.inverse(base))}[form]


@settings(derandomize=True, database=None, deadline=None, max_examples=150)
@given(st.lists(square_factors(), min_size=2, max_size=6), st.sampled_from([1, -1, 2]),
       st.sampled_from(["postfix", "call"]))
def test_products_print_no_longer_than_factor_by_factor_and_read_back(factors, q, inverse):
    e = E.mul(E.number(q), *factors)
    printed = to_text(e, inverse=inverse)
    assert matcalc.parse(printed, declare=SQUARE_DECLARATIONS) is e, printed
    chain = E.mul_parts(e)[2]
    plainly = " ".join(to_text(f, inverse=inverse) if f.size == 1 else f"({to_text(f, inverse=inverse)})"
                       if f.op == "mul" else to_text(f, inverse=inverse) for f in chain)
    assert display_cost(printed) <= display_cost(plainly) + (1 if q != 1 else 0) + (1 if abs(q) != 1 else 0)
    assert_one_spelling(printed, inverse)


def test_a_product_of_transposes_prints_as_one_transpose_in_text_and_latex():
    d = matcalc.diff("tr(A X^-1 C)", "X")
    assert str(d) == "-(X^-1 C A X^-1)^T"
    assert d.latex() == r"-\left(X^{-1} C A X^{-1}\right)^\top"
    A, B = E.symbol("A", ("n", "m"), "matrix"), E.symbol("B", ("k", "p"), "matrix")
    k = E.kron(E.transpose(A), E.transpose(B))
    assert to_text(k) == "kron(A, B)^T" and matcalc.parse("kron(A, B)^T") is k
    assert matcalc.emit_latex.to_latex(k) == r"\left(A \otimes B\right)^\top"


def test_a_short_product_keeps_its_factors():
    x, A = E.symbol("x", ("n", 1), "vector"), SQUARES["A"]
    assert to_text(E.mul(E.transpose(x), E.transpose(A))) == "x^T A^T"     # (A x)^T is no shorter
    assert to_text(E.mul(A, E.transpose(SQUARES["B"]))) == "A B^T"


def test_a_multiple_of_the_ones_vector_prints_c_1():
    assert str(matcalc.diff("sum(x)", "x")) == "1"
    assert str(matcalc.diff("scalar a; a^(sum(x))", "x")) == "log(a) a^(sum(x)) 1"
    assert "(1^T)^T" not in str(matcalc.diff("scalar a; 3 sum(x)", "x"))


# ------------------------------------------------------------------ printing needs no SymPy
NO_SYMPY = [
    ["diff", "det(X^T A X)", "X", "--order", "2", "--vec"],
    ["diff", "det(X^T A X)", "X", "--order", "2", "--format", "numpy"],
    ["diff", "A X B", "X", "--format", "numpy", "--layout", "denominator"],
    ["diff", "tanh(W x)", "W", "--vec", "--format", "latex"],
    ["diff", "tanh(W x)", "W"],
]


@pytest.mark.parametrize("argv", NO_SYMPY, ids=" ".join)
def test_printing_tensors_imports_no_sympy(argv):
    program = ("import sys; from matcalc.commands import answer; "
               f"status, out, err = answer({argv!r}); assert status == 0, err; "
               "print('sympy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# sums whose terms a result keeps whole: {terms} is where a permutation of them is typed
SUM_TEMPLATES = [
    ("-y^T log(softmax({terms}))", "b"),
    ("sum(tanh({terms}))", "b"),
    ("sum(sigmoid({terms}) .* y)", "b"),
]
SUM_TERMS = ["W x", "b", "c"]
SUM_DIMS = {"W": "matrix[k,n]", "x": "vector[n]", "b": "vector[k]", "c": "vector[k]", "y": "vector[k]"}


@settings(derandomize=True, database=None, deadline=None, max_examples=30)
@given(st.sampled_from(SUM_TEMPLATES), st.permutations(SUM_TERMS), st.integers(2, 3),
       st.sampled_from(["mixed", "numerator", "denominator"]))
def test_a_typed_sum_prints_in_the_order_typed(template, terms, count, layout):
    text, variable = template
    if "b" not in terms[:count]:
        terms = ["b"] + terms
    typed_sum = " + ".join(terms[:count])
    d = matcalc.diff(text.format(terms=typed_sum), variable, layout=layout)
    printed = str(d)
    assert f"({typed_sum})" in printed, (typed_sum, printed)
    latex_sum = " + ".join({"W x": r"W \mathbf{x}", "b": r"\mathbf{b}", "c": r"\mathbf{c}"}[t] for t in terms[:count])
    equation = d.latex(equation=True)
    assert latex_sum in d.latex() and equation.split(" = ")[0].count(latex_sum) == 1, equation
    values = oracle.to_matcalc(oracle.make_values(SUM_DIMS, 7), SUM_DIMS)
    want = np.atleast_2d(d.evaluate(values))
    _, got = value_read_back(d, printed, values, declarations(SUM_DIMS), {}, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=printed)
