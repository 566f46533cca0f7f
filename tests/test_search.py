"""The search for the shortest form (matcalc/search.py) returns what it was given, shorter.

Soundness is checked numerically, independently of the rules: random expressions, built
from the search's own rules (a left or right side instantiated with random operands) and
from the operators around them, are searched, and the answer is evaluated beside the
input at random points (symmetric symbols positive definite, square ones well
conditioned).  Every step the search records is an equality of its own, and names a rule.
"""
import random
from fractions import Fraction
import time
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import matcalc
from matcalc import expr as E
from matcalc import search
from matcalc.emit_text import to_text
from matcalc.errors import MatcalcError
from matcalc.evaluate_numpy import DomainError, evaluate
from matcalc.syntax import parser

N = ("n", "n")
SQUARES = [E.symbol(name, N, "matrix") for name in ("A", "B", "C")]
SYMMETRIC = E.symbol("S", N, "symmetric")
VECTORS = [E.symbol(name, ("n", 1), "vector") for name in ("x", "y", "z")]
SCALARS = [E.symbol(name, (1, 1), "scalar") for name in ("a", "b")]


class Assumption(NamedTuple):
    """What the search reads of an assumption (matcalc.assumptions.Assumption's fields)."""
    lhs: E.Expr
    rhs: E.Expr
    text: str


def _values(rng, n=3):
    values = {m.name: rng.uniform(0.1, 1, (n, n)) + n * np.eye(n) for m in SQUARES}
    root = rng.uniform(-1, 1, (n, n))
    values["S"] = root @ root.T + n * np.eye(n)
    values.update({v.name: rng.uniform(0.2, 1, (n, 1)) for v in VECTORS})
    values.update({s.name: rng.uniform(0.5, 1.5, (1, 1)) for s in SCALARS})
    return values, {"n": n}


def _agree(left: E.Expr, right: E.Expr, seed: int = 0) -> bool:
    """Equal values at two random points where `left` is defined.  logdet(A B) =
    logdet(A) + logdet(B) holds where each factor's determinant is positive, so a point
    where only the left side has a logdet is passed over."""
    rng = np.random.default_rng(seed)
    for _ in range(2):
        values, dims = _values(rng)
        with np.errstate(all="ignore"):
            try:
                want = evaluate(left, values, dims)
            except DomainError:
                continue
            try:
                got = evaluate(right, values, dims)
            except DomainError:
                if any(n.op == "fn" and n.value == "logdet" or n.op == "logdet" for n in E.postorder(left)):
                    continue
                raise
        if not np.all(np.isfinite(want)):
            continue
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8 * (1 + np.abs(want).max()))
    return True


# ---------------------------------------------------------------- random expressions

def _build(rng: random.Random, kind: str, depth: int, top: bool = True) -> E.Expr:
    if depth <= 0 or (not top and rng.random() < 0.25):
        return rng.choice({"matrix": SQUARES + [SYMMETRIC], "vector": VECTORS, "scalar": SCALARS}[kind])
    if rng.random() < 0.35:
        instance = _rule_instance(rng, kind, depth - 1)
        if instance is not None:
            return instance
    sub = lambda k: _build(rng, k, depth - 1, top=False)   # noqa: E731 - the generator's one recursion
    if kind == "matrix":
        choice = rng.randrange(8)
        return [lambda: E.add(sub("matrix"), sub("matrix")), lambda: E.mul(sub("matrix"), sub("matrix")),
                lambda: E.transpose(sub("matrix")), lambda: E.inverse(rng.choice(SQUARES + [SYMMETRIC])),
                lambda: E.hadamard(sub("matrix"), sub("matrix")), lambda: E.diag(sub("vector")),
                lambda: E.mul(sub("vector"), E.transpose(sub("vector"))),
                lambda: E.mul(sub("scalar"), sub("matrix"))][choice]()
    if kind == "vector":
        choice = rng.randrange(7)
        return [lambda: E.add(sub("vector"), sub("vector")), lambda: E.mul(sub("matrix"), sub("vector")),
                lambda: E.hadamard(sub("vector"), sub("vector")), lambda: E.func("sigmoid", sub("vector")),
                lambda: E.elementwise_divide(sub("vector"), rng.choice(VECTORS)),
                lambda: E.vector_function("softmax", sub("vector")),
                lambda: E.sub(E.number(1), E.func("sigmoid", sub("vector")))][choice]()
    choice = rng.randrange(4)
    return [lambda: E.total(sub("vector")), lambda: E.trace(sub("matrix")),
            lambda: E.mul(E.transpose(sub("vector")), sub("vector")),
            lambda: E.add(sub("scalar"), sub("scalar"))][choice]()


def _rule_instance(rng: random.Random, kind: str, depth: int):
    """A side of one of the search's rules, its pattern variables bound to random operands."""
    moves = [m for m in search.moves() if _kind(m.rule.lhs) == kind]
    if not moves:
        return None
    rule = rng.choice(moves).rule
    side = rng.choice([rule.lhs, rule.rhs])
    guarded = {variable: guard for guard, variable in rule.guards}
    inverts = any(n.op in ("inv", "logdet", "det") for n in E.postorder(side))   # invertible operands only
    bindings = {}
    for variable in (n for n in E.postorder(side) if n.op == "sym"):
        guard = guarded.get(variable)
        if guard == "integer":
            bindings[variable] = E.number(rng.choice([2, 3]))
        elif guard == "symmetric":
            bindings[variable] = rng.choice([SYMMETRIC, E.inverse(SYMMETRIC), E.mul(SQUARES[0], E.transpose(SQUARES[0]))]
                                            + ([] if inverts else [E.mul(VECTORS[0], E.transpose(VECTORS[0]))]))
        elif inverts and variable.kind not in ("scalar", "vector"):
            bindings[variable] = rng.choice(SQUARES + [SYMMETRIC, E.inverse(SQUARES[1]), E.transpose(SQUARES[2])])
        elif variable.kind == "scalar":
            bindings[variable] = _build(rng, "scalar", depth, top=False)
        elif variable.kind == "vector":
            bindings[variable] = _build(rng, "vector", depth, top=False)
        else:
            bindings[variable] = _build(rng, "matrix", depth, top=False)
    try:
        from matcalc.rules import instantiate
        return instantiate(side, bindings)
    except MatcalcError:
        return None


def _cost(candidate: E.Expr, start: E.Expr) -> tuple:
    """The search's cost of a candidate for the shortest form of `start`."""
    return search.cost(candidate, {}, frozenset(E.postorder(start)))


def _kind(e: E.Expr) -> str:
    return "scalar" if e.shape == (1, 1) else ("vector" if e.shape[1] == 1 else "matrix")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["matrix", "vector", "scalar"]))
def test_search_answer_equals_its_input(seed, kind):
    rng = random.Random(seed)
    try:
        e = _build(rng, kind, 4)
    except MatcalcError:
        assume(False)
    trace: list = []
    found = search.shortest(e, trace=trace)
    assert _cost(found, e) <= _cost(e, e)
    assert found.shape == e.shape
    _agree(e, found, seed)
    for step in trace:                         # each recorded move is an equality of its own
        assert step.rule.name
        _agree(step.before, step.after, seed)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_symmetric_by_structure_is_symmetric(seed):
    rng = random.Random(seed)
    try:
        e = _build(rng, "matrix", 4)
    except MatcalcError:
        assume(False)
    if search.symmetric_by_structure(e, {}):
        values, dims = _values(np.random.default_rng(seed))
        value = evaluate(e, values, dims)
        np.testing.assert_allclose(value, value.T, rtol=1e-8, atol=1e-10 * (1 + np.abs(value).max()))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["matrix", "vector", "scalar"]))
def test_token_count_is_the_lexers(seed, kind):
    """search.tokens counts as matcalc.syntax's lexer does, on printed expressions."""
    try:
        text = to_text(_build(random.Random(seed), kind, 3))
    except MatcalcError:
        assume(False)
    assert search.tokens(text) == sum(1 for _ in parser().lex(text))


# ---------------------------------------------------------------- what it finds, and names

@pytest.mark.parametrize("text, declarations, shortest, named", [
    ("-(diag(s) - s s^T) (y ./ s)", {}, "sum(y) s - y", "softmax-cancellation"),
    ("diag(1 ./ s) (diag(s) - s s^T)", {}, "I - 1 s^T", "distribute-left"),
    ("1/2 ((I - S^-1 r r^T) S^-1 + S^-1 (I - S^-1 r r^T)^T)", {"symmetric": "S"}, None, "symmetric-transpose"),
    ("3/2 (S^2 + (S^2)^T)", {"symmetric": "S"}, "3 S^2", "symmetric-transpose"),
    ("A: matrix[n,n]; B: matrix[n,n]; A^T inv(A X B)^T B^T", {}, "inv(X)^T", "inverse-of-product"),
    ("tr(X (A + B) X^-1)", {}, "tr(A + B)", "trace-cyclic"),   # X^-1 X meet across the cycle
    ("kron(A, B) kron(C, D) x", {}, "kron(A C, B D) x", "kron-mixed-product"),
    ("sigmoid(x) + sigmoid(-x)", {}, None, "sigmoid-symmetry"),
    ("exp(x) ./ (exp(x) + exp(-x)) - exp(-x) ./ (exp(x) + exp(-x))", {}, "tanh(x)", "tanh-from-exp-terms"),
    ("X^T (sigmoid(X w) .* (1 - y) - y .* (1 - sigmoid(X w)))", {}, "X^T (sigmoid(X w) - y)", "distribute-hadamard"),
])
def test_search_reaches_the_book_and_names_its_rules(text, declarations, shortest, named):
    e = matcalc.parse(text, **declarations)
    trace: list = []
    found = search.shortest(e, trace=trace)
    if shortest is not None:
        assert to_text(found) == to_text(matcalc.parse(shortest, **declarations))
    assert _cost(found, e) < _cost(e, e)
    assert named in [step.rule.name for step in trace]


# An input for each rule of rules/search.rules on which the search needs it: every rule fires.
FIRES = {
    "distribute-left": "diag(1 ./ s) (diag(s) - s s^T)",
    "distribute-right": "-(diag(s) - s s^T) (y ./ s)",
    "distribute-hadamard": "X^T (sigmoid(X w) .* (1 - y) - y .* (1 - sigmoid(X w)))",
    "transpose-of-sum": "1/2 ((I - S^-1 C) S^-1 + S^-1 (I - S^-1 C)^T)",
    "hadamard-difference": "x .* y - x .* z",
    "scalar-out-of-power": "2 (x ./ (2 sqrt(1 + x .^ 2)))",
    "hadamard-square-of-sum": "(x + y) .^ 2 - x .^ 2 - y .^ 2",
    "hadamard-square-of-difference": "1 - sigmoid(x) .^ 2 - (1 - sigmoid(x)) .^ 2",
    "inverse-of-product": "A: matrix[n,n]; B: matrix[n,n]; A^T inv(A X B)^T B^T",
    "inverse-of-power": "inv(X^2)^2 X",
    "power-of-power": "(inv(X)^2)^2 X",
    "power-cancels-left": "X inv(X)^3",
    "power-cancels-right": "inv(X)^3 X",
    "powers-cancel-left": "X^2 inv(X)^3",
    "powers-cancel-right": "inv(X)^3 X^2",
    "symmetric-transpose": "3/2 (S^2 + (S^2)^T)",
    "trace-cyclic": "tr(X (A + B) X^-1)",
    "det-of-product": "B: matrix[n,n]; det(A B) / det(B)",
    "logdet-of-product": "B: matrix[n,n]; logdet(A B) - logdet(B)",
    "logdet-of-inverse": "logdet(X^-1) + logdet(X)",
    "determinant-lemma": "det(I + x y^T)",
    "diag-combination": "diag(x) - 2 diag(y)",
    "inner-product-as-sum": "s^T (y ./ s)",
    "kron-mixed-product": "kron(A, B) kron(C, D) x",
    "softmax-from-exp": "W^T exp(W x) / sum(exp(W x))",
    "softmax-diag-from-exp": "diag(exp(x)) / sum(exp(x))",
    "softmax-outer-from-exp": "exp(x) exp(x)^T / sum(exp(x))^2",
    "softmax-cancellation": "diag(s) (y ./ s)",
    "sigmoid-symmetry": "sigmoid(x) + sigmoid(-x)",
    "tanh-from-exp": "(exp(x) - exp(-x)) ./ (exp(x) + exp(-x))",
    "tanh-from-exp-terms": "exp(x) ./ (exp(x) + exp(-x)) - exp(-x) ./ (exp(x) + exp(-x))",
    "sign-times-abs": "sign(x) .* abs(x)",
    "sign-times": "sign(x) .* x",
    "sign-times-square": "sign(x) .* x .^ 2",
    "sign-squared-times-abs": "sign(x) .^ 2 .* abs(x)",
    "abs-squared": "abs(x) .^ 2",
}


def test_every_search_rule_has_an_input():
    from matcalc.rules import ruleset
    assert sorted(FIRES) == sorted(rule.name for rule in ruleset("search"))


@pytest.mark.parametrize("name", FIRES)
def test_every_search_rule_fires(name):
    """On its input, the search takes the rule on its way to a shorter form, and the
    form has the input's value."""
    e = matcalc.parse(FIRES[name], symmetric="S")
    trace: list = []
    found = search.shortest(e, trace=trace)
    assert name in [step.rule.name for step in trace]
    assert _cost(found, e) < _cost(e, e)
    rng = np.random.default_rng(5)
    values = {}
    for node in E.postorder(e):
        if node.op == "sym" and node.name not in values:
            rows, cols = (3 ** len(d.split("*")) if isinstance(d, str) else d for d in node.shape)
            value = rng.uniform(0.2, 1, (rows, cols))
            values[node.name] = value @ value.T + rows * np.eye(rows) if node.kind == "symmetric" else (
                value + rows * np.eye(rows) if rows == cols else value)
    dims = {part: 3 for node in E.postorder(e) for d in node.shape if isinstance(d, str) for part in d.split("*")}
    np.testing.assert_allclose(evaluate(found, values, dims), evaluate(e, values, dims), rtol=1e-9, atol=1e-12)


def test_symmetrised_gradient_of_a_symmetric_inverse_is_one_term():
    """Issue 9's symmetric Gaussian: (G + G^T)/2 with G = (I - S^-1 r r^T) S^-1 is G."""
    e = matcalc.parse("1/2 ((I - S^-1 r r^T) S^-1 + S^-1 (I - S^-1 r r^T)^T)", symmetric="S")
    found = search.shortest(e)
    assert search.cost(found, {})[0] <= search.cost(matcalc.parse("S^-1 - S^-1 r r^T S^-1", symmetric="S"), {})[0]
    values = {"S": np.array([[3.0, 1.0], [1.0, 2.0]]), "r": np.array([[0.5], [-1.0]])}
    np.testing.assert_allclose(evaluate(found, values, {"n": 2}), evaluate(e, values, {"n": 2}), rtol=1e-12)


def test_a_sum_under_a_product_never_takes_a_broadcast_scalar():
    """A (x + a) is A x + a A 1, not A x + a A: distributivity must not bind the scalar."""
    e = E.mul(SQUARES[0], E.add(VECTORS[0], SCALARS[0]))
    from matcalc.simplify import simplify
    assert _agree(e, simplify(e))
    assert all(step.rule.name != "distribute-left" for step in _trace_of(e))


def _trace_of(e):
    trace: list = []
    search.shortest(e, trace=trace)
    return trace


# ---------------------------------------------------------------- assumptions

def test_assumptions_rewrite_terms_and_windows():
    y, x = VECTORS[1], VECTORS[0]
    Q = E.symbol("Q", N, "matrix")
    sums_to_one = Assumption(E.total(y), E.number(1), "assume sum(y) = 1")
    orthogonal = Assumption(E.mul(E.transpose(Q), Q), E.identity("n"), "orthogonal Q")
    s = E.vector_function("softmax", x)
    trace: list = []
    assert search.shortest(E.sub(E.mul(E.total(y), s), y), (sums_to_one,), trace) is E.sub(s, y)
    assert [step.rule.name for step in trace] == ["assumption assume sum(y) = 1"]
    quadratic = E.mul(E.transpose(x), E.transpose(Q), Q, SQUARES[0], x)
    assert search.shortest(quadratic, (orthogonal,)) is E.mul(E.transpose(x), SQUARES[0], x)
    assert search.shortest(quadratic) is quadratic          # without the assumption, nothing to do


# ---------------------------------------------------------------- bounds

ADVERSARIAL = {
    "sum of 12 terms": " + ".join(f"{name} x" for name in "ABCDEFGHJKLM"),
    "product of 6 sums": " ".join(f"(A{i} + B{i})" for i in range(6)),
    "sum of 6 outer products": " + ".join(f"(a + {name}) (a + {name})^T" for name in "bcdefg"),
}


@pytest.mark.parametrize("label", ADVERSARIAL)
def test_search_is_bounded_and_deterministic(label):
    """Wide sums and products: the search stops at its budget (long before its time
    limit) with the best form so far, and gives the same answer every time."""
    e = matcalc.parse(ADVERSARIAL[label])
    search._results.clear()
    start = time.perf_counter()
    first = search.shortest(e)
    seconds = time.perf_counter() - start
    search._results.clear()
    assert search.shortest(e) is first
    assert _cost(first, e) <= _cost(e, e)
    assert seconds < search.TIME_LIMIT + 1


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(st.tuples(st.integers(-3, 3).filter(bool), st.integers(-3, 3), st.sampled_from(range(3))),
                min_size=2, max_size=4), st.booleans())
def test_factor_common_power_is_an_equality(terms, with_matrix):
    """Terms q s^k M, with s the 1 x 1 product x^T x: the least power of a common
    denominator pulled out gives the same value, and only a denominator's."""
    from matcalc.simplify import factor_common_power
    s = E.mul(E.transpose(VECTORS[0]), VECTORS[0])
    pieces = (SQUARES if with_matrix else VECTORS)
    total = E.add(*(E.mul(E.number(q), *([E.power(s, E.number(k))] if k else []), pieces[i])
                    for q, k, i in terms))
    factored = factor_common_power(total)
    exponents = [k for _, k, _ in terms]
    if factored is None:
        return
    assert all(k < 0 for k in exponents) and len(set(exponents)) > 1
    assert _agree(total, factored)


def test_factor_common_power_shortens_the_rayleigh_quotient_in_every_layout():
    for layout in ("mixed", "numerator", "denominator"):
        printed = str(matcalc.diff("x^T A x / (x^T x)", "x", layout=layout))
        assert printed.endswith("/ (x^T x)") and "(x^T x)^2" not in printed, printed


@settings(max_examples=30, deadline=None, database=None)
@given(st.sampled_from(["det", "logdet"]), st.integers(1, 5), st.integers(2, 4), st.booleans())
def test_a_scalar_factor_never_leaves_a_determinant_as_a_matrix_factor(function, numerator, denominator, vector):
    """det(c M) is c^n det(M), not det(c) det(M): the fuzzer found det(1/4 M) turned into
    1/4 det(M) by det-of-product binding the scalar 1/4 as a square factor.  Every one-move
    neighbour of det(c M) is equal to it."""
    assume(Fraction(numerator, denominator).denominator > 1)
    c = E.number(Fraction(numerator, denominator))
    inner = (E.add(E.mul(E.number(4), E.identity("n")), E.mul(VECTORS[0], E.transpose(VECTORS[0]))) if vector
             else SQUARES[0])
    e = E.square_function(function, E.mul(c, inner))
    neighbours = [new for _, new in search._Search((), ()).neighbours(e)]
    assert neighbours or not vector
    for new in neighbours:
        assert _agree(e, new), f"{to_text(e)} -> {to_text(new)}"


def test_the_fuzzers_determinant_of_a_kronecker_gram_matrix():
    d = matcalc.diff("det(kron(0.5 + y, 1^T + x^T)^T kron(0.5 + y, 1^T + x^T) + I)", "x")
    assert "finite differences" in str(d.check())
