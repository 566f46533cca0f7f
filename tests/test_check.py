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
    ("logdet(X) + sum((X .* X) .^ 0.5)", "X"),          # compared at points (an inverse)
    ("tr(inv(A) X) + sum((X .* X) .^ 0.5)", "X"),
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


# One text for each operator and function of the language, each spelling that builds a
# different syntax node (a ones vector, I, entries, literals, definitions, commutation).
EVERY_CONSTRUCT = [
    "x + y - z", "-x", "A x", "2 * x", "A @ x", "x .* y", "x ./ y", "x / a", "kron(A, B)", "A ⊗ B",
    "a^3", "A^3", "x .^ 3", "x .^ (1/2)", "A^T", "A'", "A^-1", "inv(A)", "tr(A)", "det(A)", "logdet(A)",
    "diag(x)", "diag(A)", "sum(x)", "sum(A)", "||x||", "||x||_1", "||A||_F", "norm(x)", "||x||_3",
    "exp(x)", "log(x)", "sin(x)", "cos(x)", "tanh(x)", "sigmoid(x)", "sqrt(x)", "abs(x)", "relu(x)",
    "softplus(x)", "sign(x)", "step(x)", "softmax(x)", "logsumexp(x)", "1^T x", "x 1^T A", "I + A",
    "x[2]", "A[1, 2]", "[a, a^2; 1, a]", "u = A x; u^T u", "vec(A)", "commutation(n, n) vec(A)",
    "a - x", "1 - tanh(x) .^ 2", "x^T A^2 x / (x^T x)", "tr(inv(A) A)", "(x .^ 2) .^ 0.5",
]


@pytest.mark.parametrize("text", EVERY_CONSTRUCT)
def test_the_typed_reading_agrees_with_the_engine_on_every_construct(text):
    import numpy as np
    from matcalc.as_typed import NUMPY, SYMPY, typed_value
    from matcalc.check import concrete_sizes, random_values
    from matcalc.evaluate_numpy import evaluate
    from matcalc.evaluate_sympy import symbol_matrix
    from matcalc.evaluate_at import bind
    from matcalc.analyse import parse
    analysis = parse("scalar a; x: vector[n]; A: matrix[n,n]; B: matrix[m,m]; " + text)
    symbols = list(analysis.symbols.values())
    dims = concrete_sizes(symbols, (3, 2))
    point = random_values(symbols, dims, np.random.default_rng(1), positive=True)
    env, dims = bind(analysis.symbols, point)
    typed = typed_value(analysis, env, dims, NUMPY)
    np.testing.assert_allclose(typed, evaluate(analysis.body, env, dims), rtol=1e-12, atol=1e-12)
    matrices = {s.value[0]: symbol_matrix(s.value[0], s.value[1], *(dims.get(d, d) for d in s.shape))
                for s in symbols}
    exact = typed_value(analysis, matrices, dims, SYMPY)
    numbers = {}
    for name, value in point.items():
        array = np.asarray(value, dtype=float).reshape(matrices[name].shape)
        numbers.update({matrices[name][i, j]: array[i, j] for i, j in np.ndindex(*array.shape)})
    substituted = exact.xreplace(numbers)
    np.testing.assert_allclose(np.array(substituted.evalf(), dtype=float), typed, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("text, variable", [
    ("B: matrix[m,n]; C: matrix[n,n]; B exp(C .^ 2)^2", "C"),        # entries near 1e12
    ("x: vector[k]; r = x; inv(A + inv(B))", "x"),                    # inverses of symbol matrices
    ("Sigma: matrix[m,n]; y: vector[2]; B: matrix[n,2]; g = Sigma A relu(B) (-(0.5 + y)); diag(inv(A)^-2)'",
     "Sigma"),
    ("logdet(S) + (x - mu)^T inv(S) (x - mu)", "S"),
    ("Sigma: matrix[n,m]; X1: matrix[m,m]; (Sigma' Sigma + I)^-2 .* X1", "Sigma"),  # 38 s, now 4 s
])
def test_check_confirms_right_answers_that_used_to_fail_or_time_out(text, variable):
    report = matcalc.diff(text, variable).check(time_limit=30)
    assert report.finite_difference_error <= 1e-4


def test_the_check_report_of_a_declared_size_names_it():
    report = matcalc.diff("x: vector[2]; x^T x", "x").check()
    assert "declared sizes" in report.summary()


def _network(layers: int) -> str:
    statements = ["H1 = tanh(W1 x)"] + [f"H{i} = tanh(W{i} H{i - 1})" for i in range(2, layers + 1)]
    return "; ".join(statements) + f"; ||H{layers} - y||^2"


def test_a_deep_network_is_checked_by_finite_differences_and_says_sympy_was_skipped():
    report = matcalc.diff(_network(50), "W1").check(time_limit=60)
    assert report.finite_difference_error <= 1e-4
    assert report.sympy_skipped and "nested 50 deep" in report.sympy_skipped
    assert "elementwise SymPy skipped: functions nested 50 deep" in str(report)


def test_finite_differences_alone_still_catch_a_wrong_rewrite(monkeypatch):
    text = "sum(tanh(tanh(tanh(tanh(tanh((x .^ 2) .^ 0.5))))))"
    assert matcalc.diff(text, "x").check().sympy_skipped
    monkeypatch.setattr(E, "_folded_power", _fold_always)
    with pytest.raises(CheckError, match="finite differences"):
        matcalc.diff(text, "x").check()


def test_sympy_derivatives_of_sign_count_as_zero_away_from_its_jump():
    d = matcalc.diff("x: vector[n]; 4 / abs(logdet([2, 2; tanh(logsumexp(x)), 2]))", "x", order=2)
    assert d.check().numeric == 4
