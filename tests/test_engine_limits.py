"""Inputs that would take minutes or exhaust memory get a stated limit at once, or an answer
in milliseconds where an identity gives one; never a hang, never a traceback."""
import numpy as np
import pytest

import matcalc
from matcalc.differentiate import MAX_EXPANDED_POWER
from matcalc.errors import LimitError
from matcalc.expr import MAX_NUMBER_DIGITS


@pytest.mark.parametrize("text", ["10^(10^10) x^T x", "2^100000 x^T x", "(1/3)^20000 x^T x",
                                  "(2^600) (2^600) (2^600) (2^600) (2^600) (2^600) x^T x"])
def test_numbers_past_the_limit_are_refused(text):
    with pytest.raises(LimitError, match=f"the limit is {MAX_NUMBER_DIGITS}|at most {MAX_NUMBER_DIGITS} digits") as caught:
        matcalc.diff(text, "x")
    assert caught.value.line == 1 and caught.value.column is not None


def test_numbers_within_the_limit_are_exact():
    d = matcalc.diff("2^100 x^T x", "x")
    assert d.evaluate({"x": [1.0, 2.0]}).ravel().tolist() == [2.0 ** 101, 2.0 ** 102]


@pytest.mark.parametrize("k", [3, 7, 1_000_000, 10 ** 9])
def test_trace_of_a_power_is_one_term_for_any_k(k):
    d = matcalc.diff(f"tr(X^{k})", "X")
    assert str(d) == f"{k} (X^{k - 1})^T"
    if k < 10:
        d.check()
        X = np.array([[0.5, 0.2], [-0.3, 0.4]])
        expected = k * np.linalg.matrix_power(X, k - 1).T
        np.testing.assert_allclose(d.evaluate({"X": X}), expected)


def test_differentials_of_large_matrix_powers_are_refused_with_the_limit():
    with pytest.raises(LimitError, match=f"k up to {MAX_EXPANDED_POWER}"):
        matcalc.diff(f"x^T X^{MAX_EXPANDED_POWER + 1} x", "X")
    matcalc.diff(f"x^T X^{MAX_EXPANDED_POWER} x", "X")


def test_a_constant_power_of_any_size_is_no_work():
    assert str(matcalc.diff("A^100000 x", "x")) == "A^100000"


def test_a_long_computation_stops_at_its_time_limit():
    chain = "x^T " + " ".join(["A B"] * 150) + " x"     # minutes without a limit
    with pytest.raises(LimitError, match="time limit of 0.5 s"):
        matcalc.diff(chain, "A", time_limit=0.5)


def test_the_time_limit_is_validated():
    with pytest.raises(LimitError, match="positive number of seconds"):
        matcalc.diff("x^T x", "x", time_limit=-1)
    assert str(matcalc.diff("x^T x", "x", time_limit=None)) == "2 x"


def test_threads_each_have_their_own_budget_and_leave_the_process_as_it_was():
    import sys
    import threading
    limit, stack = sys.getrecursionlimit(), threading.stack_size()
    results, errors = {}, {}
    chain = "x^T " + " ".join(["A B"] * 150) + " x"

    def work(i):
        try:
            if i % 2:
                results[i] = str(matcalc.diff("x^T A x", "x"))
            else:
                matcalc.diff(chain, "A", time_limit=0.3)
        except LimitError as exc:
            errors[i] = exc
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: "(A + A^T) x" for i in range(1, 8, 2)}
    assert sorted(errors) == [0, 2, 4, 6]
    assert (sys.getrecursionlimit(), threading.stack_size()) == (limit, stack)


@pytest.mark.parametrize("call, message", [
    (lambda: matcalc.diff("x^T x", None), "name a variable"),
    (lambda: matcalc.diff("x^T x", 3), "the variable"),
    (lambda: matcalc.diff("x^T x", ["x", 2]), "the variable"),
    (lambda: matcalc.diff("a x^T x", "x", scalars=[1]), "text"),
    (lambda: matcalc.diff("x^T x", "x").check(seed="a"), "seed"),
    (lambda: matcalc.diff("x^T x", "x").check(seed=-1), "seed"),
])
def test_arguments_of_the_wrong_type_are_a_matcalc_error(call, message):
    with pytest.raises(matcalc.MatcalcError, match=message):
        call()


def test_none_means_no_declarations():
    assert str(matcalc.diff("x^T x", "x", scalars=None, symmetric=None, declare=None)) == "2 x"


@pytest.mark.parametrize("text, variable", [
    ("x: vector[1000000]; x^T A x", "A"),
    ("X: matrix[100000,100000]; tr(X)", "X"),
    ("X: matrix[100,100]; commutation(100, 100) vec(X)", "X"),
    ("x: vector[1000]; x[5] x^T x", "x"),
])
def test_check_refuses_sizes_it_cannot_build(text, variable):
    d = matcalc.diff(text, variable)
    with pytest.raises(LimitError, match="check"):
        d.check()


@pytest.mark.parametrize("values, message", [
    ({"x": [1.0, float("nan")]}, "not finite"),
    ({"x": [1.0, float("inf")]}, "not finite"),
    ({"x": [1.0, 2.0 + 1.0j]}, "complex"),
    ({"x": ["a", "b"]}, "not an array of floating-point numbers"),
    ({"x": [1.0, 10 ** 400]}, "not an array of floating-point numbers"),
])
def test_values_that_are_not_real_numbers_are_refused(values, message):
    with pytest.raises(matcalc.MatcalcError, match=message):
        matcalc.diff("x^T x", "x").evaluate(values)


def test_underflow_is_zero_not_an_error():
    d = matcalc.diff("sum(x .^ 3)", "x")
    np.testing.assert_allclose(d.evaluate({"x": [1e-160, 2.0]}).ravel(), [3e-320, 12.0], rtol=1e-3, atol=0)


def test_an_entry_past_the_value_given_is_refused():
    d = matcalc.diff("x: vector[n]; scalar s; s x[5]", "s")
    with pytest.raises(matcalc.MatcalcError, match="entry"):
        d.evaluate({"x": [1.0, 2.0, 3.0], "s": 2.0})


def test_a_unit_vector_too_long_to_write_is_refused():
    with pytest.raises(LimitError, match="at most 10000 entries"):
        matcalc.diff("x[1000000000]", "x")


def test_a_sum_of_a_thousand_terms_is_matched_term_by_term():
    text = " + ".join(f"x{i}^T x{i}" for i in range(1, 1101))   # 38 s when rules tried every pair
    assert str(matcalc.diff(text, "x1", time_limit=30)) == "2 x1"


@pytest.mark.parametrize("order, heading", [(3, "∂²f/∂x∂x"), (5, "∂⁴f/∂x∂x∂x∂x")])
def test_derivatives_in_turn_write_their_order_as_a_superscript(order, heading):
    assert matcalc.diff("x^T A x", "x", order=order).vec().heading() == f"d vec({heading}) / d vec(x)^T"


def test_a_ones_matrix_factor_of_a_hadamard_product_is_dropped():
    assert str(matcalc.parse("X .* (1 1^T)")) == "X"
    assert str(matcalc.diff("sum((X .* X) .^ 0.5)", "X")) == "sign(X)"
