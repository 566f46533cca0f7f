"""The Python API of SYNTAX.md: diff, shapes, layouts, evaluate, check, errors."""
import copy

import numpy as np
import pytest

import matcalc
from matcalc.errors import CheckError, NotDifferentiableError

RNG = np.random.default_rng(3)
NETWORK = "H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; 1/2 ||yhat - y||^2"

# The worked examples of the issue and of ../shared/seeds, as their texts write them.
TEXTBOOK = [
    ("x^T A x", "x", {}, "(A + A^T) x"),
    ("x^T A x", "x", {"layout": "numerator"}, "x^T (A + A^T)"),
    ("x^T S x", "x", {"symmetric": "S"}, "2 S x"),
    ("||y - Phi theta||^2", "theta", {}, "-2 Phi^T (y - Phi theta)"),
    ("tr(X^T A X)", "X", {}, "(A + A^T) X"),
    ("w^T x", "x", {}, "w"),
    ("x^T w", "x", {}, "w"),
    ("W x", "x", {}, "W"),
    ("A x", "x", {}, "A"),
    ("x^T W", "x", {}, "W^T"),
    ("||W x||^2", "W", {}, "2 W x x^T"),
    ("||W x||^2", "x", {}, "2 W^T W x"),
    ("scalar t; x = [t cos(t); t sin(t)]; exp(x[1] x[2]^2)", "t", {},
     "x = [t cos(t); t sin(t)]; exp(x[1] x[2]^2) (x[2]^2 (cos(t) - t sin(t)) + 2 x[1] x[2] (sin(t) + t cos(t)))"),
    (NETWORK, "W1", {}, "H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; x (yhat - y)^T W3^T W2^T"),
    (NETWORK, "W3", {}, "H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; H2 (yhat - y)^T"),
    ("x^T A x", "x", {"order": 2}, "A + A^T"),
    ("||A x - b||^2", "x", {"order": 2}, "2 A^T A"),
    ("logsumexp(x)", "x", {}, "softmax(x)"),
    ("logdet(X)", "X", {}, "X^-T"),
    ("tr(X^3)", "X", {}, "3 (X^2)^T"),
    ("sum(log(1 + exp(-y .* (X w))))", "w", {}, "-X^T (y .* sigmoid(-y .* (X w)))"),
]


@pytest.mark.parametrize("text, wrt, options, expected", TEXTBOOK)
def test_textbook_forms(text, wrt, options, expected):
    d = matcalc.diff(text, wrt, **options)
    assert str(d) == expected
    d.check()


def test_shape_and_layout_follow_syntax_md():
    cases = [("x^T A x", "x", "mixed", ("n", 1)), ("x^T A x", "x", "numerator", (1, "n")),
             ("x^T A x", "x", "denominator", ("n", 1)), ("a^T X b", "X", "numerator", ("m", "n")),
             ("W x", "x", "denominator", ("m", "n")), ("scalar t; t x", "t", "denominator", (1, "n")),
             ("scalar t; t A", "t", "denominator", ("m", "n")), ("scalar t; t A", "t", "mixed", ("n", "m"))]
    for text, wrt, layout, shape in cases:
        d = matcalc.diff(text, wrt, layout=layout)
        assert (d.layout, d.shape) == (layout, shape), (text, layout)


def test_evaluate_accepts_flat_and_column_vectors_and_returns_arrays_or_floats():
    A = RNG.normal(size=(3, 3))
    x = RNG.normal(size=3)
    d = matcalc.diff("x^T A x", "x")
    expected = ((A + A.T) @ x).reshape(3, 1)
    np.testing.assert_allclose(d.evaluate({"x": x, "A": A}), expected)
    np.testing.assert_allclose(d.evaluate({"x": x.reshape(3, 1), "A": A}), expected)
    row = matcalc.diff("x^T A x", "x", layout="numerator").evaluate({"x": x, "A": A})
    assert row.shape == (1, 3)
    value = matcalc.diff("scalar a; a^3", "a").evaluate({"a": 2.0})
    assert isinstance(value, float) and value == 12.0


def test_symmetric_gradient_is_documented_convention():
    S = RNG.normal(size=(3, 3))
    S = S + S.T
    x = RNG.normal(size=3)
    d = matcalc.diff("x^T S x", "S", symmetric="S")
    np.testing.assert_allclose(d.evaluate({"x": x, "S": S}), np.outer(x, x))
    d = matcalc.diff("tr(A S)", "S", symmetric=("S",))
    A = RNG.normal(size=(3, 3))
    np.testing.assert_allclose(d.evaluate({"A": A, "S": S}), (A + A.T) / 2)


def _with_result(derivative, expr):
    """The same derivative with another (wrong) result, for the check to catch."""
    wrong = copy.copy(derivative)
    wrong.expr = expr
    return wrong


def test_check_catches_a_wrong_result():
    right = matcalc.diff("x^T A x", "x")
    wrong_expr = matcalc.parse("A x")
    wrong = _with_result(right, wrong_expr)
    with pytest.raises(CheckError, match="differs"):
        wrong.check()
    assert "symbolically" in right.check().summary()


def test_check_catches_a_wrong_layout():
    right = matcalc.diff("a^T X b", "X")
    transposed = matcalc.parse("b a^T")
    wrong = _with_result(right, transposed)
    with pytest.raises(CheckError):
        wrong.check()


@pytest.mark.parametrize("call, error, message", [
    (lambda: matcalc.diff("x^T x", "x", layout="sideways"), matcalc.MatcalcError, "unknown layout"),
    (lambda: matcalc.diff("x^T x", "2z"), matcalc.MatcalcError, "not a variable name"),
    (lambda: matcalc.diff("h = W x; h^T h", "h"), matcalc.MatcalcError, "intermediate"),
    (lambda: matcalc.diff("x^T x", "x", order=0), matcalc.MatcalcError, "order must be"),
    (lambda: matcalc.diff("x^T x", "x", "x", order=2), matcalc.MatcalcError, "not both"),
    (lambda: matcalc.diff("x^T x", "x", "numerator"), matcalc.MatcalcError, "layout="),
    (lambda: matcalc.diff("tr(B kron(A, X))", "X"), NotDifferentiableError, "partial trace"),
    (lambda: matcalc.diff("x: vector[n]; x[1]", "x"), NotDifferentiableError, "declare its size"),
])
def test_what_cannot_be_done_is_refused_clearly(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_latex_of_a_result():
    assert matcalc.diff("||y - Phi theta||^2", "theta").latex() == \
        r"-2 \Phi^\top \left(\mathbf{y} - \Phi \boldsymbol{\theta}\right)"
    assert matcalc.diff("x^T A x", "x")._repr_latex_().startswith("$")


def test_deep_network_gradient_is_linear_in_depth():
    def network(depth):
        text = "W1 x"
        for i in range(2, depth + 1):
            text = f"W{i} tanh({text})"
        return f"||{text} - y||^2"
    short, long = (len(str(matcalc.diff(network(depth), "W1"))) for depth in (16, 64))
    assert long < 5 * short


@pytest.mark.parametrize("text, wrt", [("x^T A x", "x"), ("sum(log(1 + exp(-y .* (X w))))", "w"),
                                       ("logsumexp(x)", "x"), ("scalar t; exp(t) A + t^2 x x^T", "t")])
def test_second_derivatives_check_in_every_layout(text, wrt):
    for layout in ("mixed", "numerator", "denominator"):
        assert "entries" in matcalc.diff(text, wrt, order=2, layout=layout).check().summary()


def test_check_catches_a_wrong_hessian():
    right = matcalc.diff("x^T A x", "x", order=2)
    wrong_expr = matcalc.parse("A: matrix[n,n]; 2 A")
    wrong = _with_result(right, wrong_expr)
    with pytest.raises(CheckError):
        wrong.check()


# ------------------------------------------------------------------ tensors, vec forms, orders
def test_vector_by_matrix_is_a_tensor_with_index_and_vec_forms():
    d = matcalc.diff("W x", "W")
    assert str(d) == "∂(W x)_i/∂W_jk = δ_ij x_k"
    assert d.shape == ("n", "n", "m")
    assert str(d.vec()) == "kron(x^T, I)" and d.vec().shape == ("n", "m*n")
    W, x = RNG.normal(size=(3, 2)), RNG.normal(size=2)
    tensor = d.evaluate({"W": W, "x": x})
    np.testing.assert_allclose(tensor, np.einsum("ij,k->ijk", np.eye(3), x))
    np.testing.assert_allclose(d.vec().evaluate({"W": W, "x": x}), np.kron(x.reshape(1, -1), np.eye(3)))


@pytest.mark.parametrize("layout, axes", [("mixed", "ijk"), ("numerator", "ikj"), ("denominator", "jki")])
def test_tensor_axes_follow_the_layout(layout, axes):
    d = matcalc.diff("W x", "W", layout=layout)
    W, x = RNG.normal(size=(3, 2)), RNG.normal(size=2)
    mixed = np.einsum("ij,k->ijk", np.eye(3), x)
    np.testing.assert_allclose(d.evaluate({"W": W, "x": x}), np.einsum("ijk->" + axes, mixed))


def test_vec_forms_of_the_textbook():
    assert str(matcalc.diff("A X B", "X").vec()) == "kron(B^T, A)"
    assert str(matcalc.diff("X^T", "X").vec()) == "commutation(n, m)"
    assert str(matcalc.diff("X^-1", "X").vec()) == "-kron(X^-T, X^-1)"
    assert str(matcalc.diff("tr(X^T A X)", "X", order=2).vec()) == "kron(I, A + A^T)"
    assert str(matcalc.diff("x^T A x", "x").vec()) == "x^T (A + A^T)"    # a gradient's vec form is a row


def test_commutation_matrix_transposes_vec():
    X = RNG.normal(size=(2, 3))
    d = matcalc.diff("X^T", "X")
    K = d.vec().evaluate({"X": X})
    np.testing.assert_allclose(K @ X.reshape(-1, order="F"), X.T.reshape(-1, order="F"))
    back = matcalc.parse("commutation(n, m) vec(X)", declare="X: matrix[n,m]")
    assert back.shape == ("m*n", 1)


def test_mixed_second_derivative_by_two_variables():
    for d in (matcalc.diff("x^T A y", "x", "y"), matcalc.diff("x^T A y", ("x", "y"))):
        assert str(d) == "A" and d.order == 2
    assert str(matcalc.diff("x^T A y", "y", "x")) == "A^T"


def test_higher_orders_check_themselves():
    for text, wrt, order in [("sum(exp(x))", "x", 3), ("(x^T x)^2", "x", 4), ("det(X)", "X", 2)]:
        assert "entries" in matcalc.diff(text, wrt, order=order).check().summary()


def test_hessian_examples_of_the_issue():
    assert str(matcalc.diff("x^T A x", "x", order=2)) == "A + A^T"
    assert str(matcalc.diff("||A x - b||^2", "x", order=2)) == "2 A^T A"
    assert str(matcalc.diff("logsumexp(x)", "x", order=2)) == "diag(softmax(x)) - softmax(x) softmax(x)^T"
    logistic = matcalc.diff("sum(log(1 + exp(-y .* (X w))))", "w", order=2)
    assert str(logistic).endswith("X^T diag(y .^ 2 .* u1 .* (1 - u1)) X")


def test_symmetric_entries_convention_is_the_cookbooks():
    """S_ij = S_ji as one variable: SymPy with one symbol per pair gives exactly that."""
    import sympy as sp
    A_values, S_values = RNG.normal(size=(3, 3)), RNG.normal(size=(3, 3))
    S_values = S_values + S_values.T
    d = matcalc.diff("tr(A S S)", "S", symmetric="S", symmetric_as="entries")
    assert "Cookbook" in d.describe()
    s = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"s{min(i, j)}{max(i, j)}"))
    f = (sp.Matrix(A_values) * s * s).trace()
    point = {s[i, j]: S_values[i, j] for i in range(3) for j in range(3)}
    want = np.array([[float(sp.diff(f, s[i, j]).subs(point)) for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(d.evaluate({"A": A_values, "S": S_values}), want)
    d.check()
    tensor = matcalc.diff("S x", "S", symmetric="S", symmetric_as="entries")
    tensor.check()


def test_unknown_symmetric_convention_is_refused():
    with pytest.raises(matcalc.MatcalcError, match="symmetric convention"):
        matcalc.diff("tr(S)", "S", symmetric="S", symmetric_as="halves")


def test_check_catches_a_wrong_tensor():
    right = matcalc.diff("A X B", "X")
    wrong = copy.copy(right)
    wrong.vec_form = matcalc.diff("B^T X A^T", "X").vec().expr    # kron(A, B^T): factors swapped
    with pytest.raises(CheckError):
        wrong.check()


def test_index_form_of_an_order_three_tensor_derivative_is_refused_clearly():
    d = matcalc.diff("X^T X", "X", order=2)
    with pytest.raises(NotDifferentiableError, match="vec"):
        d.index_form()
    assert str(d).startswith("d vec(∂f/∂X) / d vec(X)^T = ")
