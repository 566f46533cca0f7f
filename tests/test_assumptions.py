"""Assumptions the user states (`assume sum(y) = 1`, `orthogonal Q`, `diagonal D`, `spd S`).

What is proved here, each against NumPy or the check's two oracles, never against matcalc's
own reading alone:
- the statements parse, and what cannot be used is refused at its place, with a caret;
- each equation is oriented from its larger side to its smaller, whichever way it is written;
- the check's points satisfy every equation to 1e-10 and every structure exactly as stated;
- a result that is right only under an assumption passes check() with it and fails without
  it, and a result simplified with a false assumption fails even with the assumption stated.
"""
import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcalc
from matcalc import expr as E
from matcalc.analyse import parse
from matcalc.api import Derivative
from matcalc.assumptions import usable
from matcalc.check import SIZE_ORDERS, concrete_sizes, sample_point
from matcalc.errors import CheckError, MatcalcError, ShapeError
from matcalc.evaluate_numpy import DomainError
from matcalc.pipeline import derivative_of

SOFTMAX_LOSS = "-y^T log(softmax(W x + b))"


def _refusal(text, **options):
    with pytest.raises(MatcalcError) as refused:
        parse(text, **options)
    return refused.value


# ---------------------------------------------------------------- reading

def test_the_statements_read_as_equations_and_structure():
    analysis = parse(f"assume sum(y) = 1; {SOFTMAX_LOSS}")
    (assumption,) = analysis.assumptions
    y = analysis.symbols["y"]
    assert (assumption.lhs, assumption.rhs) == (E.total(y), E.ONE)
    assert assumption.text == "assume sum(y) = 1"
    assert analysis.stated == ("assume sum(y) = 1",)
    assert analysis.body is parse(SOFTMAX_LOSS).body     # the expression is read as without it


def test_spaces_are_evened_in_the_statement_as_noted():
    assert parse("assume   x^T  x =\n 1 ; x^T A x").stated == ("assume x^T x = 1",)


def test_an_assumption_shares_the_dimensions_of_the_expression():
    analysis = parse("assume Q^T Q = I; tr(Q^T A Q)")
    q = analysis.symbols["Q"]
    (assumption,) = analysis.assumptions
    assert assumption.lhs is E.mul(E.transpose(q), q)
    assert assumption.rhs is E.identity(q.shape[1])
    assert analysis.symbols["A"].shape == (q.shape[0], q.shape[0])


def test_structure_declares_square_matrices_of_their_kind():
    analysis = parse("spd S, T; diagonal D; orthogonal Q; tr(S T D Q)")
    s, d, q = (analysis.symbols[n] for n in "SDQ")
    assert (s.kind, d.kind, q.kind) == ("symmetric", "symmetric", "matrix")
    assert E.transpose(s) is s and E.transpose(d) is d and E.transpose(q) is not q
    assert all(v.shape[0] == v.shape[1] for v in (s, d, q))
    assert analysis.stated == ("spd S", "spd T", "diagonal D", "orthogonal Q")
    rewrites = {(a.lhs, a.rhs) for a in analysis.assumptions}
    n = q.shape[0]
    assert rewrites == {(E.mul(E.transpose(q), q), E.identity(n)), (E.mul(q, E.transpose(q)), E.identity(n)),
                        (E.inverse(q), E.transpose(q)), (E.diag(E.diag(d)), d),
                        (E.hadamard(d, E.identity(n)), d)}


def test_a_structure_may_be_a_type_with_its_size():
    typed = parse("S: spd[k]; Q: orthogonal[3]; D: diagonal; tr(S) + tr(Q) + tr(D)")
    assert typed.structures == {"S": "spd", "Q": "orthogonal", "D": "diagonal"}
    assert typed.symbols["S"].shape == ("k", "k") and typed.symbols["Q"].shape == (3, 3)
    assert typed.symbols["S"].kind == typed.symbols["D"].kind == "symmetric"
    assert typed.stated == ("spd S", "orthogonal Q", "diagonal D")


def test_a_structure_of_a_matrix_whose_sizes_differ_is_refused():
    refused = _refusal("x: vector[3]; y: vector[2]; orthogonal A; x^T A y")
    assert "orthogonal A: A is 3 x 2, not square" in refused.message
    assert "not square" in _refusal("S: spd[n]; S: matrix[n,m]; tr(S)").message


def test_orthogonal_makes_its_matrix_square_where_the_expression_did_not():
    analysis = parse("orthogonal Q; x^T Q y")
    assert analysis.symbols["x"].shape == analysis.symbols["y"].shape


def test_structure_and_assumptions_come_also_from_declarations_and_assume():
    analysis = parse("x^T S x + sum(y)", declare=("spd S",), assume=("sum(y) = 1",))
    assert analysis.structures == {"S": "spd"}
    assert analysis.stated == ("spd S", "assume sum(y) = 1")
    assert analysis.symbols["S"].kind == "symmetric"


def test_a_structure_of_a_name_the_expression_does_not_use_is_like_its_declaration():
    analysis = parse("spd S; x^T x")
    assert analysis.structures == {} and analysis.assumptions == ()


# Equations written both ways round: the longer side is replaced by the shorter.
EQUATIONS = [("sum(y)", "1"), ("Q^T Q", "I"), ("x^T x", "1"), ("x^T A x", "2"), ("tr(X)", "1"),
             ("A x", "b"), ("y^T y + x^T x", "1"), ("inv(X)", "X^T"), ("X^T X", "X X^T")]
CONTEXT = "y^T y + x^T A x + tr(Q^T Q) + b^T A x + tr(X)"


@given(st.sampled_from(EQUATIONS))
def test_an_equation_is_oriented_to_shrink_however_it_is_written(equation):
    left, right = equation
    (written,) = parse(f"assume {left} = {right}; {CONTEXT}").assumptions
    (swapped,) = parse(f"assume {right} = {left}; {CONTEXT}").assumptions
    assert written.lhs.size >= written.rhs.size and swapped.lhs.size >= swapped.rhs.size
    if written.lhs.size > written.rhs.size:
        assert (written.lhs, written.rhs) == (swapped.lhs, swapped.rhs)
    else:                                   # sides of one size: the left one goes, as written
        assert (written.lhs, written.rhs) == (swapped.rhs, swapped.lhs)


@pytest.mark.parametrize("text, message, column", [
    ("assume sum(y); -y^T log(softmax(W x + b))", "an assumption is an equation", 14),
    ("assume sum(y) = y; sum(y)", "the two sides of an assumption have different shapes: sum(y) (1 x 1) "
                                  "and y (n x 1)", 15),
    ("assume x^T x < 1; x^T A x", "matcalc cannot use an inequality", 14),
    ("assume x^T x <= 1; x^T A x", "matcalc cannot use an inequality", 14),
    ("assume sum(z) = 1; sum(y)", "z appears in the assumption but not in the expression", 12),
    ("A: matrix[n,m]; orthogonal A; sum(A)", "orthogonal A: A is n x m, not square", 28),
    ("x: vector[n]; spd x; x^T x", "spd x: x is declared a vector", 19),
    ("scalar a; diagonal a; a x", "diagonal a: a is declared a scalar", 20),
    ("u = A x; spd u; u^T u", "spd u: u is not a variable", 14),
    ("spd I; tr(I)", "spd I: I is not a variable", 5),
    ("spd S; spd S; tr(S)", "S is declared spd already", 12),
    ("assume A x = A; x^T A x", "the two sides of an assumption have different shapes", 12),
    ("assume x[2] = 1; x^T A x", "an entry in an assumption needs a size the expression or a declaration "
                                 "fixes", 9),
    ("assume x[3] = 1; x[1] x[2]^2", "index 3 is out of range for x (2 x 1)", 9),
])
def test_what_cannot_be_used_is_refused_at_its_place(text, message, column):
    refused = _refusal(text)
    assert message in refused.message
    assert (refused.line, refused.column) == (1, column)
    shown = refused.describe().splitlines()
    assert len(shown) == 3 and shown[2].index("^") - 2 == column - 1


def test_an_assumption_given_apart_is_refused_in_its_own_text():
    refused = _refusal("x^T A x", assume=("sum(x) = A",))
    assert "different shapes" in refused.message
    assert refused.describe().splitlines()[1:] == ["  sum(x) = A", "         ^"]


def test_an_equation_given_apart_must_be_one():
    refused = _refusal("x^T A x", assume=("sum(x)",))
    assert "an assumption is an equation" in refused.message


@pytest.mark.parametrize("text, variable, advice", [
    ("orthogonal Q; tr(Q A)", "Q", "assume Q^T Q = I"),
    ("diagonal D; x^T D x", "D", "D = diag(d)"),
])
def test_a_structured_variable_of_differentiation_is_refused(text, variable, advice):
    with pytest.raises(MatcalcError) as refused:
        matcalc.diff(text, variable)
    assert advice in refused.value.message


def test_spd_by_itself_is_a_symmetric_variable():
    d = matcalc.diff("spd S; logdet(S) + x^T S x", "S")
    same = matcalc.diff("S: symmetric[n]; logdet(S) + x^T S x", "S")
    assert str(d) == str(same)
    assert d.stated == ("spd S",)
    d.check()


def test_an_assumption_about_a_variable_is_kept_from_what_is_differentiated_by_it():
    analysis = parse("assume x^T x = 1; assume sum(y) = 1; x^T x + sum(y) x^T A x")
    x, y = analysis.symbols["x"], analysis.symbols["y"]
    about_y = [a for a in analysis.assumptions if "y" in a.text]
    assert usable(analysis.assumptions, (x,)) == tuple(about_y)
    assert usable(analysis.assumptions, (y,)) == tuple(a for a in analysis.assumptions if a not in about_y)
    assert usable(analysis.assumptions, ()) == analysis.assumptions


# ---------------------------------------------------------------- sampling

def _sampled(text, seed, sizes, positive, wrt=None):
    analysis = parse(text)
    symbols = list(analysis.symbols.values())
    dims = concrete_sizes(symbols, sizes)
    variable = analysis.symbols[wrt] if wrt else symbols[0]
    result = dataclasses.replace(_stand_in(analysis, variable), assumptions=analysis.assumptions)
    return sample_point(result, symbols, dims, np.random.default_rng(seed), positive), dims


def _stand_in(analysis, variable):
    """A result that rests on the analysis' assumptions, as the sampler sees it."""
    return derivative_of(dataclasses.replace(analysis, assumptions=()), variable.name)


def _column(value):
    return np.asarray(value, dtype=float).reshape(-1, 1)


SAMPLING = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**32 - 1)
SIZES = st.sampled_from(SIZE_ORDERS)


@SAMPLING
@given(SEEDS, SIZES, st.booleans())
def test_samples_sum_to_one(seed, sizes, positive):
    point, _ = _sampled(f"assume sum(y) = 1; {SOFTMAX_LOSS}", seed, sizes, positive, wrt="b")
    assert abs(np.sum(point["y"]) - 1) < 1e-10
    if positive:        # scaling keeps the signs a positive point asked for
        assert np.all(np.asarray(point["y"]) > 0)


@SAMPLING
@given(SEEDS, SIZES, st.booleans())
def test_samples_lie_on_the_sphere(seed, sizes, positive):
    point, _ = _sampled("assume x^T x = 1; x^T A x", seed, sizes, positive, wrt="x")
    x = _column(point["x"])
    assert abs((x.T @ x)[0, 0] - 1) < 1e-10


@SAMPLING
@given(SEEDS, SIZES)
def test_samples_solve_a_linear_system_and_a_trace(seed, sizes):
    point, _ = _sampled("assume A x = b; assume tr(X) = 1; b^T A x + tr(X^T A)", seed, sizes, False, wrt="x")
    a, x, b = np.asarray(point["A"]), _column(point["x"]), _column(point["b"])
    assert np.max(np.abs(a @ x - b)) < 1e-10 * (1 + np.max(np.abs(b)))
    assert abs(np.trace(point["X"]) - 1) < 1e-10


@SAMPLING
@given(SEEDS, st.sampled_from([(3, 2, 4), (4, 3, 2)]))
def test_samples_have_orthonormal_columns(seed, sizes):
    point, dims = _sampled("assume Q^T Q = I; tr(Q^T A Q)", seed, sizes, False, wrt="A")
    q = np.asarray(point["Q"])
    assert q.shape[0] > q.shape[1]        # a tall Q: the sizes where the equation can hold
    assert np.max(np.abs(q.T @ q - np.eye(q.shape[1]))) < 1e-10


def test_a_wide_orthonormal_sample_is_a_domain_error_so_check_tries_other_sizes():
    with pytest.raises(DomainError):
        _sampled("assume Q^T Q = I; tr(Q^T A Q)", 0, (2, 3, 4), False, wrt="A")
    assert _under_assumptions("assume Q^T Q = I; tr(Q^T A Q)", "A").check().sizes == {"n": 3, "m": 2}


@SAMPLING
@given(SEEDS, SIZES, st.booleans())
def test_samples_have_the_declared_structure(seed, sizes, positive):
    point, _ = _sampled("spd S; orthogonal Q; diagonal D; tr(S Q D)", seed, sizes, positive, wrt="S")
    s, q, d = (np.asarray(point[n]) for n in "SQD")
    n = s.shape[0]
    assert np.array_equal(s, s.T) and np.min(np.linalg.eigvalsh(s)) >= n - 1e-9
    assert np.max(np.abs(q.T @ q - np.eye(n))) < 1e-12 and np.max(np.abs(q @ q.T - np.eye(n))) < 1e-12
    assert np.array_equal(d, np.diag(np.diag(d))) and np.min(np.abs(np.diag(d))) >= 0.3


def test_an_equation_of_no_known_form_is_refused_by_check():
    analysis = parse("assume sum(exp(x)) = 1; x^T A x")
    result = Derivative.of(dataclasses.replace(_stand_in(analysis, analysis.symbols["A"]),
                                               analysis=analysis, assumptions=analysis.assumptions))
    with pytest.raises(MatcalcError) as refused:
        result.check()
    assert "check() cannot sample points where assume sum(exp(x)) = 1 holds" in refused.value.message
    assert not isinstance(refused.value, CheckError)


def test_two_equations_in_one_symbol_that_cannot_both_be_met_are_refused():
    analysis = parse("assume x^T x = 1; assume sum(x) = 7; x^T A x")
    result = dataclasses.replace(_stand_in(analysis, analysis.symbols["A"]), assumptions=analysis.assumptions)
    symbols = list(analysis.symbols.values())
    with pytest.raises(MatcalcError, match="cannot sample points where assume"):
        sample_point(result, symbols, concrete_sizes(symbols), np.random.default_rng(0))


# ---------------------------------------------------------------- check() under assumptions

def _under_assumptions(text, wrt):
    """The derivative of `text` computed without its assumptions, then resting on them."""
    analysis = parse(text)
    plain = derivative_of(dataclasses.replace(analysis, assumptions=()), wrt)
    return Derivative.of(dataclasses.replace(plain, analysis=analysis, assumptions=analysis.assumptions))


def _with_expr(d, expr):
    return dataclasses.replace(d, expr=expr)


def _softmax_and_y(d):
    softmax = next(n for n in E.postorder(d.function) if n.op == "softmax")
    return softmax, d.analysis.symbols["y"]


def test_the_book_form_passes_where_y_sums_to_one_and_fails_elsewhere():
    d = _under_assumptions(f"assume sum(y) = 1; {SOFTMAX_LOSS}", "b")
    softmax, y = _softmax_and_y(d)
    book = _with_expr(d, E.add(softmax, E.neg(y)))        # right only where sum(y) = 1
    assert book.check().numeric > 0
    for seed in range(3):
        book.check(seed=seed)
    with pytest.raises(CheckError):
        dataclasses.replace(book, assumptions=()).check()


def test_a_result_simplified_with_a_false_assumption_fails_under_the_true_one():
    d = _under_assumptions(f"assume sum(y) = 1; {SOFTMAX_LOSS}", "b")
    softmax, y = _softmax_and_y(d)
    as_if_two = _with_expr(d, E.add(E.mul(E.number(2), softmax), E.neg(y)))    # as if sum(y) = 2
    with pytest.raises(CheckError):
        as_if_two.check()


def test_the_ambient_gradient_on_the_sphere_passes_there_only():
    d = _under_assumptions("assume x^T x = 1; (x^T x) (x^T A x)", "x")
    x, a = d.analysis.symbols["x"], d.analysis.symbols["A"]
    # 2 (x^T A x) x + (x^T x) (A + A^T) x with x^T x = 1
    on_sphere = E.add(E.mul(E.number(2), E.mul(E.transpose(x), a, x), x), E.mul(E.add(a, E.transpose(a)), x))
    assert _with_expr(d, on_sphere).check()
    with pytest.raises(CheckError):
        dataclasses.replace(_with_expr(d, on_sphere), assumptions=()).check()


def test_orthogonal_q_passes_with_its_inverse_as_its_transpose_and_fails_without_structure():
    d = _under_assumptions("orthogonal Q; tr(inv(Q) A)", "A")
    q = d.analysis.symbols["Q"]
    transposed = _with_expr(d, q)                          # the gradient inv(Q)^T is Q for orthogonal Q
    assert transposed.check()
    general = Derivative.of(dataclasses.replace(transposed, analysis=parse("tr(inv(Q) A)")))
    with pytest.raises(CheckError):
        general.check()


def test_a_diagonal_matrix_is_sampled_diagonal_in_both_oracles():
    d = _under_assumptions("diagonal D; tr(D A) + x^T D x", "A")
    dd = d.analysis.symbols["D"]
    assert _with_expr(d, E.diag(E.diag(dd))).check()       # D^T = diag(diag(D)) only where D is diagonal
    general = Derivative.of(dataclasses.replace(_with_expr(d, E.diag(E.diag(dd))),
                                                analysis=parse("D: symmetric[n]; tr(D A) + x^T D x")))
    with pytest.raises(CheckError):
        general.check()


def test_the_check_of_a_result_without_assumptions_is_unchanged():
    d = matcalc.diff(SOFTMAX_LOSS, "b")
    assert d.assumptions == () and d.stated == ()
    report = d.check()
    assert report.symbolic + report.numeric == 2


def test_an_assumption_that_does_not_hold_at_a_point_is_caught_by_the_sampler_check():
    d = _under_assumptions(f"assume sum(y) = 1; {SOFTMAX_LOSS}", "b")
    symbols = list(d.analysis.symbols.values())
    dims = concrete_sizes(symbols)
    point = sample_point(d, symbols, dims, np.random.default_rng(5))
    (stated, assumption), = d.analysis.equations
    from matcalc.check import _satisfied
    assert _satisfied(d.analysis, stated, assumption, point, dims)
    point["y"] = _column(point["y"]) * 1.5
    assert not _satisfied(d.analysis, stated, assumption, point, dims)


def test_the_sizes_of_a_shape_error_name_both_sides():
    refused = _refusal("assume x^T A = x; x^T A x")
    assert isinstance(refused, ShapeError)
    assert "x^T A (1 x n) and x (n x 1)" in refused.message


# ---------------------------------------------------------------- through the simplifier

def test_the_issue_example_is_the_book_form_where_y_sums_to_one():
    d = matcalc.diff(f"assume sum(y) = 1; {SOFTMAX_LOSS}", "b")
    plain = matcalc.diff(SOFTMAX_LOSS, "b")
    assert d.expr is parse("softmax(W x + b) - y").body
    assert d.expr is not plain.expr          # without it, sum(y) stays
    assert d.stated == ("assume sum(y) = 1",) and d.assumptions == d.analysis.assumptions
    assert d.check().numeric == 2


@pytest.mark.parametrize("text, wrt, order", [
    ("assume x^T x = 1; x^T x", "x", 1),                 # 2 x: f is not simplified to the constant 1
    ("assume x^T x = 1; (x^T x) (x^T A x)", "x", 1),     # the ambient gradient on the sphere
    ("assume x^T x = 1; (x^T x)^2", "x", 2),             # 4 I + 8 x x^T: the gradient is not simplified first
    ("assume sum(y) = 1; sum(y) x^T A x", "x", 2),
    ("assume Q^T Q = I; tr(Q^T A Q)", "A", 1),           # Q Q^T stays: a tall Q is not orthogonal
    ("orthogonal Q; tr(inv(Q) A) + logdet(Q^T B Q)", "A", 1),
    ("orthogonal Q; tr(inv(Q) A) + tr(Q^T B Q)", "B", 1),
    ("diagonal D; x^T D D x", "x", 1),
    ("spd S; logdet(S) + tr(inv(S) A)", "S", 1),
])
def test_results_resting_on_assumptions_pass_both_oracles(text, wrt, order):
    d = matcalc.diff(text, wrt, order=order)
    assert d.assumptions or d.analysis.structures
    d.check()


def test_an_assumption_about_the_variable_never_reaches_what_is_differentiated():
    assert str(matcalc.diff("assume x^T x = 1; x^T x", "x")) == str(matcalc.diff("x^T x", "x"))
    hessian = matcalc.diff("assume x^T x = 1; (x^T x)^2", "x", order=2)
    x = hessian.analysis.symbols["x"]
    n = x.shape[0]
    assert hessian.expr is E.add(E.mul(E.number(4), E.identity(n)), E.mul(E.number(8), x, E.transpose(x)))


def test_orthogonality_of_columns_is_not_orthogonality_of_rows():
    d = matcalc.diff("assume Q^T Q = I; tr(Q^T A Q)", "A")
    q = d.analysis.symbols["Q"]
    assert d.expr is E.mul(q, E.transpose(q))
    assert matcalc.diff("orthogonal Q; tr(Q^T A Q)", "A").expr is E.identity(q.shape[0])


@SAMPLING
@given(SEEDS, SIZES)
def test_equations_sharing_a_symbol_are_met_together(seed, sizes):
    point, _ = _sampled("assume a^T x = 1; assume x^T x = 1; x^T A x + a^T b", seed, sizes, False, wrt="A")
    a, x = _column(point["a"]), _column(point["x"])
    assert abs((a.T @ x)[0, 0] - 1) < 1e-10 and abs((x.T @ x)[0, 0] - 1) < 1e-10


def test_violated_names_the_assumption_values_break():
    from matcalc.assumptions import violated
    from matcalc.evaluate_at import bind
    analysis = parse("orthogonal Q; assume sum(y) = 1; y^T Q x")
    q = np.linalg.qr(np.array([[1.0, 2.0], [3.0, 4.0]]))[0]
    good = {"Q": q, "y": [0.25, 0.75], "x": [1.0, 2.0]}
    assert violated(analysis.assumptions, *bind(analysis.symbols, good)) is None
    broken = violated(analysis.assumptions, *bind(analysis.symbols, {**good, "y": [0.25, 0.5]}))
    assert broken.text == "assume sum(y) = 1"
    broken = violated(analysis.assumptions, *bind(analysis.symbols, {**good, "Q": 2 * q}))
    assert broken.text == "orthogonal Q"


TERMS = ["sum(y) z^T A z", "(1^T y) sum(z .* z)", "y^T z + sum(y) sum(z)", "sum(y)^2 z^T z",
         "-y^T log(softmax(A z))", "sum(y) y^T softmax(z)", "(y^T y) (z^T z)", "y^T A z / (y^T y)",
         "sum(y) ||z - y||^2", "sum(y) exp(1^T z)"]
ASSUMED = ["sum(y) = 1", "y^T y = 1", "sum(y) = 2", "1 = y^T y"]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TERMS), min_size=1, max_size=3, unique=True), st.sampled_from(ASSUMED),
       st.sampled_from([("z", 1), ("y", 1), ("z", 2)]))
def test_random_results_resting_on_an_assumption_pass_both_oracles(terms, assumed, by):
    wrt, order = by
    d = matcalc.diff(f"assume {assumed}; " + " + ".join(terms), wrt, order=order)
    assert d.stated == (f"assume {assumed}",)
    d.check()


def test_an_entry_in_an_assumption_of_a_sized_vector_is_sampled():
    d = matcalc.diff("x: vector[3]; assume x[2] = 1; x[2] x^T A x", "A")
    assert d.expr is E.mul(d.analysis.symbols["x"], E.transpose(d.analysis.symbols["x"]))
    d.check()


# ---------------------------------------------------------------- the API and the command line

def test_the_api_takes_assumptions_apart_from_the_text():
    apart = matcalc.diff(SOFTMAX_LOSS, "b", assume="sum(y) = 1")
    inline = matcalc.diff(f"assume sum(y) = 1; {SOFTMAX_LOSS}", "b")
    assert apart.expr is inline.expr and apart.stated == inline.stated == ("assume sum(y) = 1",)
    assert "· assume sum(y) = 1 ·" in apart.describe()
    assert matcalc.diff("x^T S x", "x", declare="spd S").stated == ("spd S",)


def _cli(*args):
    import contextlib
    import io

    from matcalc import cli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.run(list(args))
    return status, out.getvalue(), err.getvalue()


def test_the_command_line_notes_the_assumption_and_checks_under_it():
    status, out, _ = _cli("diff", "--assume", "sum(y) = 1", "--check", SOFTMAX_LOSS, "b")
    result, note, checked = out.splitlines()
    assert status == 0
    assert matcalc.parse(result, assume="sum(y) = 1") is matcalc.parse("softmax(W x + b) - y")
    assert note.startswith("# mixed layout · n x 1 · assume sum(y) = 1 · ")
    assert checked.startswith("# checked: ")


@pytest.mark.parametrize("args, message, caret_line", [
    (("diff", "x^T A x", "x", "--assume", "sum(x) = A"), "the two sides of an assumption have different shapes",
     "         ^"),
    (("diff", "assume sum(y); y^T x", "x"), "an assumption is an equation", "               ^"),
    (("diff", "x^T A x", "x", "--assume", "x^T x >= 1"), "matcalc cannot use an inequality", None),
])
def test_the_command_line_refuses_with_a_caret_and_status_2(args, message, caret_line):
    status, out, err = _cli(*args)
    assert status == 2 and out == ""
    assert message in err.splitlines()[0]
    if caret_line:
        assert err.splitlines()[2] == caret_line


@SAMPLING
@given(SEEDS, SIZES, st.booleans())
def test_a_structured_matrix_is_scaled_onto_an_equation_and_keeps_its_structure(seed, sizes, positive):
    # the traces of S and of D D are positive at every sampled point: a positive scaling exists
    point, _ = _sampled("spd S; diagonal D; assume tr(S) = 1; assume tr(D D) = 2; tr(S A) + tr(D A)", seed, sizes,
                        positive, wrt="A")
    s, d = np.asarray(point["S"]), np.asarray(point["D"])
    assert abs(np.trace(s) - 1) < 1e-10 and np.array_equal(s, s.T) and np.min(np.linalg.eigvalsh(s)) > 0
    assert abs(np.trace(d @ d) - 2) < 1e-10 and np.array_equal(d, np.diag(np.diag(d)))


def test_an_equation_only_in_an_orthogonal_matrix_cannot_be_sampled():
    analysis = parse("orthogonal Q; assume tr(Q) = 1; tr(Q A)")
    result = dataclasses.replace(_stand_in(analysis, analysis.symbols["A"]), assumptions=analysis.assumptions)
    symbols = list(analysis.symbols.values())
    with pytest.raises(MatcalcError, match="cannot sample points where assume tr\\(Q\\) = 1"):
        sample_point(result, symbols, concrete_sizes(symbols), np.random.default_rng(0))


def test_evaluate_refuses_values_that_break_what_the_result_rests_on():
    d = matcalc.diff(f"assume sum(y) = 1; {SOFTMAX_LOSS}", "b")
    point = {"y": [0.25, 0.75], "W": [[1.0, 2.0], [3.0, 4.0]], "x": [1.0, -1.0], "b": [0.5, 0.0]}
    z = np.array([[1.0, 2.0], [3.0, 4.0]]) @ np.array([1.0, -1.0]) + np.array([0.5, 0.0])
    softmax = np.exp(z) / np.sum(np.exp(z))
    assert np.allclose(d.evaluate(point).ravel(), softmax - np.array(point["y"]))
    with pytest.raises(MatcalcError, match="do not satisfy assume sum\\(y\\) = 1"):
        d.evaluate({**point, "y": [0.25, 0.5]})
    rotation = matcalc.diff("orthogonal Q; tr(inv(Q) A)", "A")
    with pytest.raises(MatcalcError, match="do not satisfy orthogonal Q"):
        rotation.evaluate({"Q": [[2.0, 0.0], [0.0, 1.0]], "A": np.eye(2)})
