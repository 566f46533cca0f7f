"""Other notations read as meant, or refused with matcalc's spelling; never a different reading.

* spellings of other tools (matrixcalculus.org, NumPy, Unicode, LaTeX) parse to the very
  expression of their canonical matcalc spelling (`parse(a) is parse(b)`: expressions are
  interned, so identity is equality, kinds and sizes included);
* refusals name the place and say how to write it in matcalc;
* numbers: scientific notation, exact, and bounded (no hang, no traceback);
* the p-norm's derivative against central finite differences;
* LaTeX that matcalc prints reads back: the identity table's results and random expressions;
* mutated strings over every notation's alphabet raise nothing but MatcalcError.
"""
import os
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcalc
from matcalc import expr as E
from matcalc.emit_latex import to_latex
from matcalc.errors import LimitError, ParseError, ShapeError, UnknownNameError
from matcalc.syntax import MAX_NUMBER_DIGITS

sys.path.insert(0, os.path.dirname(__file__))

DECLARE = ("x: vector[n]", "y: vector[n]", "z: vector[m]", "A: matrix[n,n]", "B: matrix[n,n]",
           "C: matrix[n,m]", "W1: matrix[n,n]", "theta: vector[n]", "Phi: matrix[n,n]")


def same(a: str, b: str, **declarations) -> None:
    declarations.setdefault("declare", DECLARE)
    assert matcalc.parse(a, **declarations) is matcalc.parse(b, **declarations), (a, b)


def kinds(e: E.Expr) -> set:
    return {(s.value, s.shape) for s in E.postorder(e) if s.op == "sym"}


# ------------------------------------------------------------------ read as meant
READ_AS = [
    # numbers
    ("1e-3 x", "1/1000 x"), ("1e3 x", "1000 x"), ("2.5E+4 x", "25000 x"), ("1.5e-2", "3/200"),
    ("2 e", "2 e"),
    # Unicode superscripts and subscripts
    ("‖x‖²", "||x||^2"), ("A³", "A^3"), ("A² x", "A^2 x"), ("A⁻¹", "inv(A)"), ("x₁ + x", "x_1 + x"),
    ("scalar a; a²", "scalar a; a^2"), ("scalar t₁; u₂ = t₁ x; u₂", "scalar t_1; u_2 = t_1 x; u_2"),
    # p-norms and their spellings
    ("||x||_3", "sum(abs(x) .^ 3)^(1/3)"), ("‖x‖_4", "sum(abs(x) .^ 4)^(1/4)"),
    ("||x||_2", "||x||"), ("||x||_1", "norm1(x)"),
    # matrixcalculus.org
    ("x'*A*x", "x^T A x"), ("norm2(x)", "||x||"), ("norm1(x)", "||x||_1"), ("eye x", "x"),
    ("A + eye", "A + I"), ("vector(1)^T x", "1^T x"), ("vector(2)^T x", "2 1^T x"),
    ("x^T matrix(1) y", "x^T (1 1^T) y"), ("x .* y ./ x", "x .* y ./ x"), ("inv(A) x", "A^-1 x"),
    ("log(det(A))", "log(det(A))"), ("exp(tr(A))", "exp(tr(A))"),
    # NumPy
    ("x.T @ A @ x", "x^T A x"), ("A.T x", "A^T x"), ("(A @ x).T", "x^T A^T"),
    # Unicode product signs
    ("A × B", "A B"), ("A · x", "A x"),
    # Greek coefficients are scalars unless declared
    ("lambda ||x||^2", "scalar lambda; lambda ||x||^2"), ("λ x", "scalar λ; λ x"),
    ("alpha x + beta_2 y", "scalar alpha, beta_2; alpha x + beta_2 y"),
    ("theta^T x", "vector theta; theta^T x"), ("mu - x", "vector mu; mu - x"),
    ("vector lambda; lambda^T x", "vector lambda; lambda^T x"),
    # the number 1 where no vector is needed
    ("1 x^T y", "x^T y"), ("x^T y 1", "x^T y"),
    # single-letter names before ( are products
    ("A (x + y)", "A * (x + y)"), ("W1(x)", "W1 x"),
    # LaTeX as notes write it
    (r"\mathbf{x}^\top A \mathbf{x}", "x^T A x"),
    (r"\|\mathbf{y} - \Phi\boldsymbol{\theta}\|^2", "||y - Phi theta||^2"),
    (r"\operatorname{tr}(X^\top A X)", "tr(X^T A X)"),
    (r"\frac{1}{2} \left\| A \mathbf{x} - \mathbf{y} \right\|^{2}", "1/2 ||A x - y||^2"),
    (r"\log\det(A)", "logdet(A)"), (r"\log \det A", "logdet(A)"),
    (r"\left( A + B \right) \mathbf{x}", "(A + B) x"), (r"A \cdot B", "A B"),
    (r"\mathbf{x} \odot \mathbf{y}", "x .* y"), (r"A \otimes B", "kron(A, B)"),
    (r"A^{-1}", "inv(A)"), (r"A^{T} B", "A^T B"), (r"A^T B", "A^T B"), (r"A^{\top}", "A^T"),
    (r"A^{-\top}", "inv(A)^T"), (r"\mathbf{x}^{\circ 2}", "x .^ 2"),
    (r"\Sigma + \Phi", "Sigma + Phi"), (r"\boldsymbol{\theta}^\top \mathbf{x}", "theta^T x"),
    (r"\lambda \|\mathbf{x}\|^2", "scalar lambda; lambda ||x||^2"),
    (r"\sigma(A \mathbf{x})", "sigmoid(A x)"), (r"\exp(\mathbf{x})^\top \mathbf{y}", "exp(x)^T y"),
    (r"\mathbf{1}^\top \mathbf{x}", "1^T x"), (r"\hat{\mathbf{y}} - \mathbf{y}", "yhat - y"),
    (r"W_{1} \mathbf{x}", "W1 x"), (r"\mathbf{x}_{ab} + \mathbf{x}", "x_ab + x"),
    (r"\|\mathbf{x}\|_{3}", "||x||_3"), (r"\left\lVert X \right\rVert_F", "||X||_F"),
    (r"\sqrt{\mathbf{x}^\top \mathbf{x}}", "sqrt(x^T x)"), (r"\left|\mathbf{x}\right|", "abs(x)"),
    (r"\mathbf{K}_{3,2}", "commutation(3, 2)"), (r"\mathrm{tr}(A) + \operatorname{Tr}(B)", "tr(A) + tr(B)"),
    (r"$\mathbf{x}^\top \mathbf{y}$", "x^T y"), (r"\exp{\mathbf{x}}", "exp(x)"),
    (r"\sin^2(t) \mathbf{x}", "scalar t; sin(t)^2 x"), (r"\mathbf{u} = A \mathbf{x}; \mathbf{u}^\top \mathbf{u}",
                                                "u = A x; u^T u"),
    # declarations as notes write them
    (r"\boldsymbol{\theta} \in \mathbb{R}^{k}, \Phi \in \mathbb{R}^{p \times k}; "
     r"\|\mathbf{v} - \Phi\boldsymbol{\theta}\|^2",
     "theta: vector[k]; Phi: matrix[p,k]; ||v - Phi theta||^2"),
    (r"x \in \mathbb{R}^n; t \in \mathbb{R}; t x", "x: vector[n]; scalar t; t x"),
    (r"a \in ℝ^{1}, G \in ℝ^{2 \times 3}; a G", "scalar a; G: matrix[2,3]; a G"),
    # a plain lowercase letter beside bold ones is a scalar, as matcalc prints them
    (r"t \mathbf{x}", "scalar t; t x"), (r"\begin{bmatrix} t & 1 \\ 2 & t^{2} \end{bmatrix} \mathbf{v}",
                                          "scalar t; [t, 1; 2, t^2] v"),
]


@pytest.mark.parametrize("text, canonical", READ_AS)
def test_other_spellings_read_as_their_matcalc_spelling(text, canonical):
    same(text, canonical)


def test_latex_input_points_into_the_latex_text():
    text = r"\frac{1}{2} \mathbf{x} + \mathbf{z}"
    with pytest.raises(ShapeError) as caught:
        matcalc.parse(text, declare=DECLARE)
    assert (caught.value.line, caught.value.column) == (1, text.index("+") + 1)


# ------------------------------------------------------------------ refused, with matcalc's spelling
REFUSED = [
    ("||x||_inf", ParseError, "max norm", 7), ("‖x‖_∞", ParseError, "max norm", 5),
    ("||x||_p", ParseError, "whole number p", 7), ("||x||_0", ParseError, "nonzero", 7),
    ("||X||_3", ShapeError, "3-norm of a vector", 1),
    ("np.exp(x)", ParseError, "drop the np. prefix", 1),
    ("numpy.tanh(x)", ParseError, "drop the numpy. prefix", 1),
    ("x**2", ParseError, ".^", 2), ("A.dot(x)", ParseError, "write A x for A.dot(x)", 2),
    ("√x", ParseError, "sqrt(x)", 1),
    ("Tanh(x)", UnknownNameError, "unknown function 'Tanh': did you mean tanh?", 1),
    ("x + exq(t)", UnknownNameError, "unknown function 'exq': did you mean exp?", 5),
    ("u = A x; u = B x; u^T u", matcalc.MatcalcError, "u is defined twice", 10),
    ("norm2 = x; norm2", ParseError, "norm2 is a function", 1),
    ("tr + x", ParseError, "tr is a function", 1),
    ("vector + x", ParseError, "vector is reserved", 1),
    ("|x|", ParseError, "abs(x)", 1),
    ("sum(x²)", ShapeError, "a power of a vector", 6),
    (r"\|\mathbf{x}\|_\infty", ParseError, "max norm", 15),
    (r"\sum_i x_i", ParseError, r"unsupported LaTeX \sum", 1),
    (r"\mathbf{x}^\top \nabla f", ParseError, r"unsupported LaTeX \nabla", 17),
    (r"\operatorname{foo}(\mathbf{x})", UnknownNameError, r"unknown function \operatorname{foo}", 1),
    (r"\det X \cdot 2", ParseError, "parentheses", 1),
    (r"|X| + \mathbf{x}^\top \mathbf{x}", ShapeError, r"write \det(X)", 1),
    (r"\hat{A + B}", ParseError, r"\hat{..} puts a hat on a name", 6),
    (r"\sin^{-1}(t)\mathbf{x}", ParseError, "whole numbers only", 7),
    (r"\mathbf{x} \in \mathbb{Z}^n", ParseError, r"\mathbf{x} \in \mathbb{R}^{n}", 16),
    (r"\langle \mathbf{x}, \mathbf{y} \rangle", ParseError, r"\mathbf{x}^\top \mathbf{y}", 1),
    ("u = A x", ParseError, "after the definitions comes the expression", 8),
]


@pytest.mark.parametrize("text, error, message, column", REFUSED)
def test_refusals_point_at_the_place_and_say_how_to_write_it(text, error, message, column):
    with pytest.raises(error) as caught:
        matcalc.parse(text)
    assert message in caught.value.message
    assert (caught.value.line, caught.value.column) == (1, column), caught.value.describe()


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize("text, coefficient", [("1e-3 x^T x", "1/500"), ("1e3 x^T x", "2000"),
                                               ("2.5E+4 x^T x", "50000")])
def test_scientific_notation_is_an_exact_number(text, coefficient):
    assert str(matcalc.diff(text, "x")) == f"{coefficient} x"


@pytest.mark.parametrize("text", [
    "2^100000 x^T x", "9" * 5000 + " x^T x", "0." + "0" * 4400 + "1 x^T x", "10^(10^10) x^T x",
    "1e99999999999 x", "(2^999)^999 x", "2 .^ (10^10) x"])
def test_huge_numbers_are_refused_at_once_with_the_limit(text):
    started = time.perf_counter()
    with pytest.raises(LimitError) as caught:
        matcalc.diff(text, "x")
    assert time.perf_counter() - started < 2
    assert str(MAX_NUMBER_DIGITS) in caught.value.message
    assert caught.value.line == 1


def test_numbers_below_the_limit_are_exact():
    big = "1" + "0" * (MAX_NUMBER_DIGITS - 1)
    assert E.mul_parts(matcalc.parse(big + " x"))[0] == 10 ** (MAX_NUMBER_DIGITS - 1)
    assert E.mul_parts(matcalc.parse("2^100 x"))[0] == 2 ** 100


# ------------------------------------------------------------------ p-norms against finite differences
def _central_differences(f, x, step=1e-6):
    return np.array([(f(x + step * e) - f(x - step * e)) / (2 * step) for e in np.eye(len(x))])


@pytest.mark.parametrize("p", [3, 4, 5])
@pytest.mark.parametrize("spelling", ["||x||_{p}", "‖x‖_{p}", r"\|\mathbf{{x}}\|_{{{p}}}"])
def test_p_norm_derivative_matches_finite_differences(p, spelling):
    text = spelling.format(p=p)
    d = matcalc.diff(text, "x")
    rng = np.random.default_rng(p)
    for _ in range(3):
        x = rng.uniform(0.3, 1.3, size=4) * rng.choice((-1.0, 1.0), size=4)   # no zero entry
        expected = _central_differences(lambda v: np.sum(np.abs(v) ** p) ** (1 / p), x)
        np.testing.assert_allclose(np.ravel(d.evaluate({"x": x})), expected, rtol=1e-6, atol=1e-8)


def test_superscript_square_differentiates_like_caret_two():
    assert str(matcalc.diff("‖x‖²", "x")) == "2 x"
    assert str(matcalc.diff("x₁ + 1", "x_1")) == str(matcalc.diff("x_1 + 1", "x_1"))


def test_greek_coefficient_gives_a_gradient_not_a_jacobian():
    d = matcalc.diff("lambda ||x||^2", "x")
    assert d.shape == ("n", 1)
    assert str(d) == "2 lambda x"
    declared = matcalc.diff("vector lambda; lambda^T x", "x")     # a declaration overrides
    assert str(declared) == "lambda"


def test_many_independent_dimensions_are_named():
    text = " + ".join(f"x{i}^T x{i}" for i in range(1100))
    e = matcalc.parse(text)
    assert len({s.shape[0] for s in E.postorder(e) if s.op == "sym"}) == 1100


# ------------------------------------------------------------------ LaTeX that matcalc prints reads back
def _identity_rows():
    from test_identities import ROWS
    for row in ROWS:
        if any("*" in spec for spec in row.dims.values()):
            continue
        yield pytest.param(row, id=row.id)


def _reads_back(latex: str, expected: E.Expr, **declarations):
    again = matcalc.parse(latex, **declarations)
    if again is expected:
        return
    # I and 1 standing alone have no size in the text: equal up to the names of those sizes,
    # the same symbols of the same kinds
    assert str(again) == str(expected), (latex, str(again))
    assert {s.value for s in E.postorder(again) if s.op == "sym"} == \
        {s.value for s in E.postorder(expected) if s.op == "sym"}


@pytest.mark.parametrize("row", list(_identity_rows()))
def test_identity_table_latex_reads_back(row):
    options = dict(row.decl)
    declare = tuple(f"{n}: {spec.split()[0]}" for n, spec in row.dims.items()) + tuple(options.pop("declare", ()))
    d = matcalc.diff(row.expr, row.wrt, declare=declare, **options)
    if d.is_tensor:
        pytest.skip("index notation is not an expression")
    _reads_back(d.latex(equation=True), d.expr, declare=declare, **options)
    if not any(n.op == "let" for n in E.postorder(d.expr)):
        _reads_back(d.latex(), d.expr, declare=declare, **options)


# random well-shaped expressions over vectors (n), matrices (n x n) and scalars
SCALARS = ("a", "b")


LEAVES = {"scalar": ("a", "b", "alpha", "2", "1/2", "3"), "vector": ("x", "y", "theta"),
          "matrix": ("A", "B", "W1", "Phi")}
# (kinds of the operands, template) for each kind of result
FORMS = {
    "scalar": [(("vector", "vector"), "({0})^T ({1})"), (("matrix",), "tr({0})"), (("matrix",), "det({0})"),
               (("vector",), "sum({0})"), (("vector",), "||{0}||"), (("vector",), "||{0}||^2"),
               (("matrix",), "||{0}||_F"), (("vector",), "||{0}||_1"), (("vector",), "logsumexp({0})"),
               (("scalar", "scalar"), "({0}) ({1})"), (("scalar", "scalar"), "({0}) + ({1})"),
               (("scalar", "scalar"), "({0}) - ({1})"), (("scalar",), "exp({0})"), (("scalar",), "sin({0})"),
               (("scalar",), "({0})^2"), (("scalar",), "({0}) / 2"), (("scalar",), "-({0})"),
               (("scalar",), "tanh({0})"), (("scalar",), "sqrt({0})")],
    "vector": [(("matrix", "vector"), "({0}) ({1})"), (("scalar", "vector"), "({0}) ({1})"),
               (("vector", "vector"), "({0}) + ({1})"), (("vector", "vector"), "({0}) .* ({1})"),
               (("vector", "vector"), "({0}) - ({1})"), (("vector",), "exp({0})"),
               (("vector",), "sigmoid({0})"), (("vector",), "softmax({0})"), (("vector",), "({0}) .^ 2"),
               (("matrix",), "diag({0})"), (("vector",), "abs({0})"), (("matrix", "vector"), "({0})^T ({1})")],
    "matrix": [(("matrix", "matrix"), "({0}) ({1})"), (("matrix", "matrix"), "({0}) + ({1})"),
               (("matrix", "matrix"), "({0}) .* ({1})"), (("vector", "vector"), "({0}) ({1})^T"),
               (("scalar", "matrix"), "({0}) ({1})"), (("matrix",), "({0})^T"), (("matrix",), "inv({0})"),
               (("vector",), "diag({0})"), (("matrix",), "({0})^2"), (("matrix",), "({0}) .^ 2"),
               (("matrix", "matrix"), "kron({0}, {1})")],
}


@st.composite
def expressions(draw, kind=None, depth=3):
    kind = kind or draw(st.sampled_from(sorted(FORMS)))
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(LEAVES[kind]))
    operands, template = draw(st.sampled_from(FORMS[kind]))
    return template.format(*(draw(expressions(k, depth - 1)) for k in operands))


ROUND_TRIP = settings(derandomize=True, database=None, deadline=None, max_examples=150,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                             HealthCheck.filter_too_much])


@ROUND_TRIP
@given(expressions(), st.booleans())
def test_printed_latex_of_random_expressions_reads_back(text, bold):
    try:
        e = matcalc.parse(text, declare=DECLARE, scalars=SCALARS)
    except matcalc.MatcalcError:
        return              # e.g. det of a product that folds to a shape error: not this test's
    latex = to_latex(e, bold_vectors=bold)
    again = matcalc.parse(latex, declare=DECLARE, scalars=SCALARS)
    assert again is e, (text, latex, str(again))


# ------------------------------------------------------------------ mutations raise only MatcalcError
VALID = ["x^T A x", "||y - Phi theta||^2", "1/2 ||e||^2 + lambda ||w||_3", "tr(X^T A X)",
         "u = tanh(W1 x); sum(u²)", "x.T @ A @ x", "norm2(x) + vector(1)^T x", "1e-3 x^T x",
         r"\mathbf{x}^\top A \mathbf{x}", r"\frac{1}{2}\|\mathbf{y} - \Phi\boldsymbol{\theta}\|^2",
         r"\operatorname{tr}\left(X^\top A X\right) + \log\det(X)", r"\sigma(W \mathbf{x})_{1}",
         r"\begin{bmatrix} t & 1 \\ 2 & t^{2} \end{bmatrix}", "‖x‖_4 x₁"]
PIECES = ["x", "A", "1", "2", "1e3", "e-", "(", ")", "[", "]", "{", "}", "^", "_", "^T", ".T", "'",
          "*", "**", "@", ".*", "./", ".^", "/", "+", "-", ",", ";", "=", ":", "||", "|", "‖", "²", "³",
          "₁", "⁻¹", "ᵀ", "∞", "λ", "θ", "\\", "\\mathbf{", "\\frac{", "\\left(", "\\right)", "\\|",
          "\\top", "^{-1}", "\\cdot", "\\odot", "\\otimes", "\\operatorname{", "\\begin{bmatrix}",
          "\\end{bmatrix}", "&", "\\\\", "\\lambda", "\\hat{", "\\sigma", "\\log\\det", "_{1,2}",
          "np.", "norm2(", "eye", "vector(", "matrix(", "Tanh(", "_inf", "_3", "tr(", " ", "\n"]


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.sampled_from(PIECES), st.characters(codec="utf-8")))
        if action == "insert":
            text = text[:at] + piece + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 3)):]
        else:
            text = text[:at] + piece + text[at + len(piece):]
    return text


@settings(ROUND_TRIP, max_examples=200)
@given(mutated())
def test_mutated_text_raises_only_matcalc_errors(text):
    for call in (lambda: matcalc.parse(text), lambda: matcalc.diff(text, "x")):
        try:
            call()
        except matcalc.MatcalcError as exc:
            assert exc.message


@settings(ROUND_TRIP, max_examples=60)
@given(expressions("scalar"), st.sampled_from(["x", "A", "a"]))
def test_latex_of_random_derivatives_reads_back(text, variable):
    try:
        d = matcalc.diff(text, variable, declare=DECLARE, scalars=SCALARS)
    except matcalc.MatcalcError:
        return
    if d.is_tensor or any(n.op == "dim" for n in E.postorder(d.expr)):
        return      # a size (det(A ⊗ A) by A: 2 n ...) is printed n, as the books write it, which reads as a name
    _reads_back(d.latex(), d.expr, declare=DECLARE, scalars=SCALARS)
    _reads_back(d.latex(equation=True), d.expr, declare=DECLARE, scalars=SCALARS)
