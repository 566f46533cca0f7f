"""Bad input: every error is a MatcalcError, located, quick, and never a traceback.

* a derandomized fuzz of strings over the language's alphabet (and random
  Unicode): `matcalc.parse` and `matcalc.diff(text, "x")` succeed or raise a
  subclass of `matcalc.MatcalcError`, never anything else;
* specific errors with their messages and positions (line, column, caret);
* limits: huge and deeply nested input is refused within 2 seconds, and never
  with RecursionError;
* evaluation errors: values of the wrong shape, missing values, log of a
  negative number, relu/abs at their kink.
"""
import os
import sys
import time

try:
    import matcalc
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import matcalc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc import errors

# Errors that belong to a place in the text (SYNTAX.md: parse errors carry line and column).
LOCATED = tuple(getattr(errors, name) for name in ("ParseError", "ShapeError", "UnknownNameError", "LimitError")
                if hasattr(errors, name))


def assert_caret(exc: matcalc.MatcalcError, source: str):
    """exc has a line and column, and describe() draws the source line with a caret under it."""
    assert exc.line is not None and exc.column is not None, f"{type(exc).__name__} without a position: {exc}"
    assert exc.line >= 1 and exc.column >= 1, (exc.line, exc.column)
    text = exc.describe()
    lines = text.split("\n")
    assert len(lines) >= 3, f"describe() has no source and caret lines: {text!r}"
    assert lines[-1].strip() == "^", f"describe() does not end with a caret line: {text!r}"
    source_lines = source.splitlines() or [""]
    if exc.line <= len(source_lines):
        line = source_lines[exc.line - 1]
        if len(line) <= 80 and exc.column <= len(line):
            # the caret sits under the character at (line, column)
            shown, caret = lines[-2], lines[-1].index("^")
            assert shown[caret] == line[exc.column - 1], (
                f"caret under {shown[caret]!r}, not under {line[exc.column - 1]!r}: {text!r}")


def assert_clean_error(call, source: str):
    """call() either succeeds or raises a MatcalcError (located, if it is a parse or shape error)."""
    try:
        return call()
    except matcalc.MatcalcError as exc:
        assert isinstance(exc.message, str) and exc.message, "empty error message"
        if isinstance(exc, LOCATED):
            assert_caret(exc, source)
        return exc


# ------------------------------------------------------------------ fuzz
NAMES = ["x", "y", "z", "A", "W", "X", "S", "a", "b", "t", "I", "theta", "W1", "y_hat", "λ", "é"]
NUMBERS = ["0", "1", "2", "0.5", "1/2", "3.", ".5", "10", "-1"]
OPERATORS = ["+", "-", "*", "/", "@", ".*", "./", ".^", "^", "^T", "'", "^-1", "^(-1)", "(", ")",
             "[", "]", ",", ";", "||", "||_F", "||_2", "||_1", "=", ":", "∘", "⊙", "⊗", "⊤", "^⊤",
             "ᵀ", "⁻¹", "‖", "#", "d(", "=>", "_"]
FUNCTIONS = ["tr", "det", "logdet", "inv", "diag", "sum", "norm", "kron", "exp", "log", "sin", "cos",
             "tanh", "sigmoid", "sqrt", "abs", "relu", "softplus", "sign", "step", "softmax",
             "logsumexp", "foo"]
KEYWORDS = ["scalar", "vector", "matrix", "symmetric", "vector[n]", "matrix[n,m]", "symmetric[3]", "if"]
SPACES = [" ", " ", " ", "", "\n", "\t"]

token = st.one_of(
    st.sampled_from(NAMES), st.sampled_from(NUMBERS), st.sampled_from(OPERATORS),
    st.sampled_from(FUNCTIONS).map(lambda f: f + "("), st.sampled_from(KEYWORDS),
    st.characters(codec="utf-8"),
)


@st.composite
def token_strings(draw):
    parts = draw(st.lists(st.tuples(token, st.sampled_from(SPACES)), max_size=25))
    return "".join(t + s for t, s in parts)


FUZZ = settings(derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _fuzz_one(text: str):
    assert_clean_error(lambda: matcalc.parse(text), text)
    result = assert_clean_error(lambda: matcalc.diff(text, "x"), text)
    if isinstance(result, matcalc.Derivative):   # a success prints and knows its shape
        assert isinstance(str(result), str)
        assert len(result.shape) == 2 if not result.is_tensor else len(result.shape) > 2


@settings(FUZZ, max_examples=220)
@given(token_strings())
def test_fuzz_language_alphabet(text):
    _fuzz_one(text)


@settings(FUZZ, max_examples=80)
@given(st.text(max_size=40))
def test_fuzz_random_unicode(text):
    _fuzz_one(text)


@settings(FUZZ, max_examples=40)
@given(token_strings(), st.sampled_from(["mixed", "numerator", "denominator"]),
       st.sampled_from(["x", "A", "a", "zz"]))
def test_fuzz_declarations_and_layouts(text, layout, wrt):
    assert_clean_error(lambda: matcalc.diff(text, wrt, layout=layout, scalars=("a",), symmetric="S"), text)


# ------------------------------------------------------------------ specific errors
def raises(call) -> matcalc.MatcalcError:
    with pytest.raises(matcalc.MatcalcError) as info:
        call()
    return info.value


@pytest.mark.parametrize("api", ["parse", "diff"])
def test_shape_mismatch_names_both_operands_and_points_at_the_plus(api):
    text = "x + y^T"
    call = (lambda: matcalc.parse(text)) if api == "parse" else (lambda: matcalc.diff(text, "x"))
    exc = raises(call)
    assert "cannot add x (n x 1) and y^T (1 x m)" in str(exc)
    assert (exc.line, exc.column) == (1, 3)   # the `+`
    assert_caret(exc, text)
    assert exc.describe().split("\n")[-1] == "  " + "  ^"


def test_shape_mismatch_on_a_later_line():
    text = "scalar a;\nh = W x;\nh + x^T"
    exc = raises(lambda: matcalc.diff(text, "x"))
    assert exc.line == 3 and exc.column == 3
    assert_caret(exc, text)


def test_unknown_function():
    text = "foo(x)"
    exc = raises(lambda: matcalc.diff(text, "x"))
    assert "foo" in str(exc)
    assert (exc.line, exc.column) == (1, 1)
    assert_caret(exc, text)


def test_unknown_function_inside_an_expression():
    text = "x^T A x + frobnicate(x)"
    exc = raises(lambda: matcalc.parse(text))
    assert "frobnicate" in str(exc)
    assert (exc.line, exc.column) == (1, 11)
    assert_caret(exc, text)


def test_syntax_error_has_line_and_column():
    text = "x^T A x\n  + * x"
    exc = raises(lambda: matcalc.diff(text, "x"))
    assert (exc.line, exc.column) == (2, 5)   # the `*`
    assert "*" in str(exc)
    assert_caret(exc, text)
    assert exc.describe().split("\n")[-2:] == ["    + * x", "      ^"]


@pytest.mark.parametrize("text", [
    "x +", ")", "(x", "x + + ", "sum()", "x^T A x; ;", "||X||_F^", "1 = x; x", "x ⊤", "\x00",
    "#", "", "   ", "x: vector[; x", "A^T^", "[1, 2", "f(x", "x ** 2",
])
def test_syntax_errors_are_located(text):
    exc = raises(lambda: matcalc.parse(text))
    assert_caret(exc, text)
    exc = raises(lambda: matcalc.diff(text, "x"))
    assert_caret(exc, text)


@pytest.mark.parametrize("text", [
    "tr(x)", "det(W x)", "x .* A", "inv(x)", "x^2", "[1, 2; 3]", "x[0]", "A x + A^T y + x y^T",
    "x ./ A", "A / x", "x y", "logsumexp(A)", "softmax(A)", "||X||_2", "X[1]",
    "x: vector[n]; A: matrix[m,m]; x^T A x", "A^0.5", "A^a", "x + A",
])
def test_shape_errors_are_located(text):
    exc = raises(lambda: matcalc.parse(text))
    assert_caret(exc, text)
    exc = raises(lambda: matcalc.diff(text, "x"))
    assert_caret(exc, text)


@pytest.mark.parametrize("text", ["||_F x||", "x + ||_2 y||", "a\n  ||_F X||"])
def test_misplaced_norm_subscript_is_located(text):
    exc = raises(lambda: matcalc.parse(text))
    assert "subscript" in str(exc)
    assert_caret(exc, text)


def test_differentiation_variable_missing_gives_zero():
    # d a / d x = 0 (the first row of the Wikipedia tables), in the variable's shape
    assert (str(matcalc.diff("x^T A x", "y")), matcalc.diff("x^T A x", "y").shape) == ("0", ("m", 1))
    assert matcalc.diff("x^T A x", "X").shape == ("m", "k")
    raises(lambda: matcalc.diff("x^T A x", "not a name"))


def test_differentiation_by_an_intermediate_is_refused():
    raises(lambda: matcalc.diff("h = W x; sum(h)", "h"))


def test_unknown_layout_and_order():
    raises(lambda: matcalc.diff("x^T A x", "x", layout="sideways"))
    raises(lambda: matcalc.diff("x^T A x", "x", order=0))
    raises(lambda: matcalc.diff("x^T A x", "x", order=7))


# ------------------------------------------------------------------ limits
LIMIT_SECONDS = 10.0   # against hangs (which take minutes), not a benchmark: CI machines may be loaded


def timed(call):
    start = time.perf_counter()
    try:
        outcome = call()
    except matcalc.MatcalcError as exc:
        outcome = exc
    return outcome, time.perf_counter() - start


HUGE = {
    "10000 nested parentheses": "(" * 10_000 + "x" + ")" * 10_000,
    "5000 nested parentheses": "(" * 5_000 + "x" + ")" * 5_000,
    "5000 open brackets": "[" * 5_000,
    "1 MB sum": "x + " * 250_000 + "x",
    "1 MB name": "x" * 1_000_000,
    "1 MB of parentheses": "(" * 1_000_000,
    "1 MB of newlines": "\n" * 1_000_000 + "x",
    "1 MB of unicode": "∘⊗λ" * 333_334,
}


@pytest.mark.parametrize("api", ["parse", "diff"])
@pytest.mark.parametrize("label", list(HUGE))
def test_huge_input_is_refused_quickly(label, api):
    text = HUGE[label]
    call = (lambda: matcalc.parse(text)) if api == "parse" else (lambda: matcalc.diff(text, "x"))
    outcome, seconds = timed(call)
    assert isinstance(outcome, matcalc.MatcalcError), f"{label}: accepted"
    assert seconds < LIMIT_SECONDS, f"{label}: {seconds:.2f} s"
    assert outcome.line is not None and outcome.column is not None
    assert "^" in outcome.describe()


DEEP = {
    "5000 prefix minus": "- " * 5_000 + "x",
    "5000 prefix minus, no spaces": "-" * 5_000 + "x",
    "5000 transposes": "x" + "^T" * 5_000,
    "5000 primes": "x" + "'" * 5_000,
    "5000 inverses": "A" + "^-1" * 5_000,
    "5000 unicode transposes": "x" + "^⊤" * 5_000,
    "2000 juxtaposed scalars": "2 " * 2_000 + "x",
    "2000 norms": "||" * 2_000 + "x" + "||" * 2_000,
    "300 nested functions": "exp(" * 300 + "x" + ")" * 300,
    "300 nested traces": "sum(" + "exp(" * 299 + "x" + ")" * 300,
    "399 nested parentheses": "(" * 399 + "x" + ")" * 399,
    "350 nested minus in brackets": "(-" * 350 + "x" + ")" * 350,
    "1000-term sum": " + ".join(["x"] * 1_000),
}


@pytest.mark.parametrize("api", ["parse", "diff"])
@pytest.mark.parametrize("label", list(DEEP))
def test_deep_nesting_never_recursion_error(label, api):
    text = DEEP[label]
    call = (lambda: str(matcalc.parse(text))) if api == "parse" else (lambda: str(matcalc.diff(text, "x")))
    try:
        outcome, seconds = timed(call)
    except RecursionError:
        pytest.fail(f"{label}: RecursionError escaped matcalc.{api}")
    assert seconds < LIMIT_SECONDS, f"{label}: {seconds:.2f} s"
    if isinstance(outcome, matcalc.MatcalcError) and isinstance(outcome, LOCATED):
        assert outcome.line is not None and outcome.column is not None


@pytest.mark.parametrize("text", [
    "kron(1, u) + kron(y, u)",                          # cyclic sizes: n = n*m
    "sum(kron(1, u / a) + kron(a + y, -u / a^2)) y",    # a printed derivative, read back
])
def test_kron_sizes_never_recursion_error(text):
    for call in (lambda: matcalc.parse(text, scalars="a"), lambda: matcalc.diff(text, "u", scalars="a")):
        try:
            outcome, seconds = timed(call)
        except RecursionError:
            pytest.fail(f"RecursionError escaped for {text!r}")
        assert seconds < LIMIT_SECONDS


# ------------------------------------------------------------------ evaluation
@pytest.fixture(scope="module")
def quadratic():
    return matcalc.diff("x^T A x", "x")


def test_evaluate_wrong_vector_size(quadratic):
    exc = raises(lambda: quadratic.evaluate({"x": np.ones(4), "A": np.eye(3)}))
    assert "x" in str(exc) or "A" in str(exc)


def test_evaluate_matrix_for_a_vector(quadratic):
    exc = raises(lambda: quadratic.evaluate({"x": np.ones((3, 2)), "A": np.eye(3)}))
    assert "x" in str(exc)


def test_evaluate_vector_for_a_matrix(quadratic):
    exc = raises(lambda: quadratic.evaluate({"x": np.ones(3), "A": np.ones(3)}))
    assert "A" in str(exc)


def test_evaluate_array_for_a_scalar():
    d = matcalc.diff("a x^T x", "x", scalars=("a",))
    exc = raises(lambda: d.evaluate({"x": np.ones(3), "a": np.ones(3)}))
    assert "a" in str(exc)


@pytest.mark.parametrize("value", ["abc", [[1.0, 2.0], [3.0]], {"x": 1}, None])
def test_evaluate_non_numeric_value(quadratic, value):
    raises(lambda: quadratic.evaluate({"x": value, "A": np.eye(3)}))


def test_evaluate_missing_value(quadratic):
    exc = raises(lambda: quadratic.evaluate({"x": np.ones(3)}))
    assert "A" in str(exc)


def test_evaluate_non_square_where_square_is_needed(quadratic):
    raises(lambda: quadratic.evaluate({"x": np.ones(3), "A": np.ones((3, 2))}))


def test_evaluate_non_symmetric_value_for_a_symmetric_matrix():
    d = matcalc.diff("x^T S x", "x", symmetric=("S",))
    raises(lambda: d.evaluate({"x": np.ones(3), "S": np.arange(9.0).reshape(3, 3)}))


def test_log_of_a_negative_value():
    d = matcalc.diff("sum(log(x))", "x")
    raises(lambda: d.evaluate({"x": -np.ones(3)}))


def test_log_of_a_negative_value_inside():
    d = matcalc.diff("log(x^T x - 10)", "x")
    raises(lambda: d.evaluate({"x": np.ones(3)}))


@pytest.mark.parametrize("function", ["relu", "abs"])
def test_kink_at_zero_is_not_differentiable(function):
    d = matcalc.diff(f"sum({function}(x))", "x")
    exc = raises(lambda: d.evaluate({"x": np.array([0.0, 1.0, -2.0])}))
    assert function in str(exc) or "differentiable" in str(exc)
    # away from the kink it evaluates
    value = d.evaluate({"x": np.array([0.5, 1.0, -2.0])})
    assert np.shape(value) == (3, 1)


@pytest.mark.parametrize("function", ["relu", "abs"])
def test_kink_at_zero_inside_an_expression(function):
    d = matcalc.diff(f"sum({function}(W x))", "W")
    W = np.array([[0.0, 1.0], [2.0, 1.0], [-1.0, 3.0]])
    raises(lambda: d.evaluate({"x": np.array([1.0, 0.0]), "W": W}))   # W x = (0, 2, -1)


def test_errors_are_matcalc_errors_not_others():
    """The hierarchy: every specific error class derives from MatcalcError."""
    for name in ("ParseError", "ShapeError", "UnknownNameError", "NotDifferentiableError", "LimitError"):
        cls = getattr(errors, name, None)
        if cls is not None:
            assert issubclass(cls, matcalc.MatcalcError), name
