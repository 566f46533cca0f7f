"""Every rule in rules/ is sound, and every rule fires somewhere.

Soundness is checked numerically on random arrays, independently of the engine
that uses the rules: a plain identity (an adjoint rule of identify.rules too) by
evaluating both sides; a differential identity d(P) => R by replacing every d(Q)
with the central difference of Q along random directions of all pattern
variables.  An adjoint rule's shares (what identification builds from it) are
checked to be its right side's terms.  Which rules fire is read from the traces
the stages return, run as the pipeline runs them: every adjoint rule is reached by a
row of the identity table.
"""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcalc
from matcalc import expr as E
from matcalc.differentiate import differential
from matcalc.evaluate_numpy import evaluate
from matcalc.expr import postorder
from matcalc.identify import identify, identify_vec
from matcalc.rules import RuleFileError, Step, load_rules, ruleset
from matcalc.simplify import simplify

RULES = [rule for stem in ("differentials", "simplify", "identify", "search") for rule in ruleset(stem)]
ADJOINT_RULES = ruleset("identify")
SIZES = (3, 2, 4)
STEP = 1e-6


def _pattern_values(rule, rng, sizes=SIZES):
    variables = [n for n in postorder(rule.lhs) if n.op == "sym"]
    dims = {}
    for v in variables:
        for d in v.shape:
            for part in (d.split("*") if isinstance(d, str) else ()):
                if part not in dims:
                    dims[part] = sizes[len(dims) % len(sizes)]
    guarded = {var: g for g, var in rule.guards}
    values, directions = {}, {}
    for v in variables:
        name, kind = v.name, v.kind
        rows, cols = (_size(d, dims) for d in v.shape)
        if guarded.get(v) in ("integer", "positive"):
            values[name] = np.array([[3.0]])
        elif kind == "scalar":
            values[name] = rng.uniform(0.5, 1.5, size=(1, 1))
        elif kind == "vector":
            values[name] = rng.uniform(0.5, 1.5, size=(rows, 1))
        else:
            m = rng.uniform(0.1, 1, size=(rows, cols))
            if rows == cols:
                m = m + rows * np.eye(rows)
            if guarded.get(v) == "symmetric":
                m = (m + m.T) / 2
            values[name] = m
        still = guarded.get(v) in ("integer", "positive", "constant")
        directions[name] = np.zeros_like(values[name]) if still else rng.normal(size=values[name].shape)
    return values, directions, dims


def _size(d, dims) -> int:
    """A dimension's size: a number, a name, or a product of names (a Kronecker product's m*n)."""
    return int(np.prod([dims[part] for part in d.split("*")])) if isinstance(d, str) else d


def _shifted(values, directions, h):
    return {k: values[k] + h * directions[k] for k in values}


def _directional(e, values, directions, dims):
    return (evaluate(e, _shifted(values, directions, STEP), dims)
            - evaluate(e, _shifted(values, directions, -STEP), dims)) / (2 * STEP)


def _with_differentials(e, values, directions, dims):
    env = dict(values)
    mapping = {}
    for i, node in enumerate(n for n in postorder(e) if n.op == "d"):
        name = f"differential{i}"
        env[name] = _directional(node.args[0], values, directions, dims)
        mapping[node] = E.symbol(name, node.shape, "matrix")
    return evaluate(E.substitute(e, mapping), env, dims)


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.file}:{r.line}:{r.name}" for r in RULES])
def test_rule_is_sound(rule):
    rng = np.random.default_rng(7)
    for _ in range(3):
        values, directions, dims = _pattern_values(rule, rng)
        if rule.lhs.op == "d":
            left = _directional(rule.lhs.args[0], values, directions, dims)
        else:
            left = evaluate(rule.lhs, values, dims)
        right = _with_differentials(rule.rhs, values, directions, dims)
        np.testing.assert_allclose(right, left, rtol=1e-6, atol=1e-7, err_msg=str(rule))


# Inputs that, between them, need every rule; the rows say which rule each is for.
FIRING_CORPUS = [
    ("x + y", "x", {}), ("x^T A x", "x", {}), ("sum(x .* y)", "x", {}), ("kron(x, y)", "x", {}),
    ("tr(X A)", "X", {}), ("tr(diag(x) A)", "x", {}), ("sum(diag(X))", "X", {}),
    ("tr(X^-1 A)", "X", {}), ("det(X)", "X", {}), ("logdet(X)", "X", {}), ("tr(X^3)", "X", {}), ("x^T X^3 x", "X", {}),
    ("(x^T x)^3", "x", {}), ("sum(x .^ 3)", "x", {}), ("||x||^2", "x", {}), ("||x||", "x", {}),
    ("||X||_F", "X", {}), ("||x||_1", "x", {}), ("sum(exp(x))", "x", {}), ("sum(log(x))", "x", {}),
    ("sum(sin(x))", "x", {}), ("sum(cos(x))", "x", {}), ("sum(tanh(x))", "x", {}),
    ("sum(sigmoid(x))", "x", {}), ("sum(sqrt(x))", "x", {}), ("sum(abs(x))", "x", {}),
    ("sum(relu(x))", "x", {}), ("sum(softplus(x))", "x", {}), ("softmax(x)", "x", {}),
    ("logsumexp(x)", "x", {}), ("(1^T x) y", "y", {}), ("x^T diag(u) x", "u", {}),
    ("tanh(x) .* exp(x)", "x", {}), ("sum(log(1 + exp(-y .* (X w))))", "w", {"order": 2}),
    ("tr(S^-1 A)", "A", {"symmetric": "S"}), ("logdet(X^-1)", "X", {}),
    ("X^-1 X w", "w", {}), ("x^T X X^-1 y", "x", {}), ("diag(u) y", "y", {}),
    ("x^T X^T inv(X)^T y", "x", {}), ("det(X^-1)", "X", {}), ("x^T diag(u) y", "x", {}),
    ("tr(kron(A, X))", "X", {}), ("diag(x x^T)", "x", {}), ("vec(x x^T)", "x", {}), ("vec(X A)", "X", {}),
    ("sum(abs(x) .* x)", "x", {"order": 2}), ("sum(relu(x) .* x)", "x", {"order": 2}),
    ("kron(x, y^T) z", "z", {}), ("kron(y^T, x) z", "z", {}), ("sum(erf(x))", "x", {}),
    ("sum(sign(x))", "x", {}), ("sum(diag(x) diag(y))", "x", {}), ("scalar p; sum(x .^ p)", "p", {}),
    ("x^T inv(X)^T X^T y", "x", {}),
]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(2, 5), min_size=3, max_size=3))
def test_adjoint_rules_hold_at_any_sizes(seed, sizes):
    """The identification identities hold for every size, not only the ones above: a rule
    true only for square or equal-sized operands would fail here."""
    rng = np.random.default_rng(seed)
    for rule in ADJOINT_RULES:
        values, _, dims = _pattern_values(rule, rng, sizes)
        np.testing.assert_allclose(evaluate(rule.rhs, values, dims), evaluate(rule.lhs, values, dims),
                                   rtol=1e-8, atol=1e-9, err_msg=f"{rule} at sizes {dims}")


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(1, 3), min_size=4, max_size=4),
       text=st.sampled_from(["kron(X, A)", "kron(A, X)", "kron(X, X^T)", "kron(kron(A, X), X)"]))
def test_kronecker_of_matrices_matches_finite_differences(seed, sizes, text):
    """vec(L ⊗ R) (MN 3.10, the rules vec-kron-left and vec-kron-right) with dX in either
    factor or both, at random sizes (1 included: a vector or scalar factor), against central
    differences of NumPy's kron."""
    rng = np.random.default_rng(seed)
    k, p, m, n = sizes
    A, X = rng.normal(size=(k, p)), rng.normal(size=(m, n))
    d = matcalc.diff(text, "X", declare=[f"A: matrix[{k},{p}]", f"X: matrix[{m},{n}]"])
    jacobian = d.vec().evaluate({"A": A, "X": X})

    def f(X):
        factors = {"kron(X, A)": (X, A), "kron(A, X)": (A, X), "kron(X, X^T)": (X, X.T),
                   "kron(kron(A, X), X)": (A, X, X)}[text]
        product = factors[0]
        for factor in factors[1:]:
            product = np.kron(product, factor)
        return product.reshape(-1, order="F")
    expected = np.column_stack([(f(X + STEP * e) - f(X - STEP * e)) / (2 * STEP)
                                for e in np.eye(m * n).reshape(m * n, n, m).transpose(0, 2, 1)])
    np.testing.assert_allclose(np.atleast_2d(jacobian), expected,
                               rtol=1e-6, atol=1e-7, err_msg=f"{text} at A {k}x{p}, X {m}x{n}")


def _rules_used(text, wrt, options) -> set:
    """(file, name) of the rules the stages use on this input: the function simplified,
    then, for each derivative in turn, its differential, identification and simplification."""
    order = options.get("order", 1)
    declarations = {k: v for k, v in options.items() if k != "order"}
    trace: list = []
    for step in range(1, order + 1):
        d = matcalc.diff(text, wrt, order=step, **declarations)
        if step == 1:
            simplify(d.analysis.body, trace=trace)
        df = differential(d.differentiated, d.variable, trace=trace)
        simplify((identify_vec if d.is_tensor else identify)(df, d.variable, trace=trace), trace=trace)
    return {(r.file, r.name) for r in (item.rule if isinstance(item, Step) else item for item in trace)}


def test_every_rule_fires_somewhere():
    used = set().union(*(_rules_used(text, wrt, options) for text, wrt, options in FIRING_CORPUS))
    never = sorted(f"{r.file}:{r.line} {r.name}" for r in RULES
                   if r.file not in ("identify.rules", "search.rules") and (r.file, r.name) not in used)
    assert never == [], f"rules that never fire: {never}"


# Adjoint rules no row of the identity table reaches yet, and an input that does: the
# derivative by the second factor of a Kronecker product of matrices (its value is proved
# in test_kronecker_of_matrices_matches_finite_differences).
def test_every_adjoint_rule_fires_on_the_identity_table():
    import test_identities
    used = set()
    for row in test_identities.ROWS:
        used |= _rules_used(row.expr, row.wrt, row.decl)
    never = sorted(f"{r.file}:{r.line} {r.name}" for r in ADJOINT_RULES if (r.file, r.name) not in used)
    assert never == [], f"identification rules no row of the identity table uses: {never}"


@pytest.mark.parametrize("rule", ADJOINT_RULES, ids=[r.name for r in ADJOINT_RULES])
def test_adjoint_rule_shares_are_its_right_side(rule):
    """What identification builds from a rule, tr(adjoint target) or adjoint vec(target),
    are the terms of the right side that hold the targets: on random arrays, the shares
    change as the right side does when the targets are set to zero."""
    rng = np.random.default_rng(3)
    values, _, dims = _pattern_values(rule, rng)
    targets = {"N", "n", "t"} & set(values)
    without = {k: (np.zeros_like(v) if k in targets else v) for k, v in values.items()}
    expected = evaluate(rule.rhs, values, dims) - evaluate(rule.rhs, without, dims)
    got = _shares_value(rule, values) - _shares_value(rule, without)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-9, err_msg=str(rule))
    assert np.abs(expected).max() > 1e-3      # the targets do enter the right side


def _shares_value(rule, values):
    total = 0
    for share in rule.shares:
        adjoint = _evaluate_template(share.adjoint, share.variables, values)
        target = _evaluate_template(share.target, (), values)
        total = total + (adjoint @ target if rule.lhs.is_scalar else adjoint @ target.reshape(-1, 1, order="F"))
    return np.trace(total).reshape(1, 1) if rule.lhs.is_scalar else total


def _evaluate_template(template, variables, values):
    """A share's template (built in an analysis of its own, with its own dimension names)
    on the rule's arrays; its dimensions read off the arrays its variables are bound to."""
    dims = {}
    for variable in [*variables, *(n for n in postorder(template) if n.op == "sym")]:
        if variable.name in values:
            for own, size in zip(variable.shape, values[variable.name].shape):
                if isinstance(own, str) and "*" not in own:
                    dims.setdefault(own, size)
    return evaluate(template, values, dims)


def test_rules_file_errors_name_file_and_line(tmp_path):
    broken = tmp_path / "broken.rules"
    broken.write_text("# a comment\nfine-rule : x + x => 2 x\nbad-rule : x + => x\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"broken\.rules:3"):
        load_rules(broken)


def test_right_side_must_not_invent_variables(tmp_path):
    broken = tmp_path / "free.rules"
    broken.write_text("free-rule : A^T => B\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match="does not bind"):
        load_rules(broken)


@pytest.mark.parametrize("damage", [b"", b"\x80\x04garbage", b"not a pickle at all", pickle.dumps([1, 2, 3]),
                                    pickle.dumps({"a": 1})])
def test_a_damaged_rules_cache_is_rebuilt(tmp_path, monkeypatch, damage):
    from matcalc import rules as R
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = next(p for p in R.list_files("rules", ".rules") if p.name == "simplify.rules")
    fresh = R._cached_rules(path)                       # writes the cache file
    (stored,) = (tmp_path / "matcalc").glob("rules-simplify-*.pickle")
    stored.write_bytes(damage)
    again = R._cached_rules(path)
    assert [str(r) for r in again] == [str(r) for r in fresh]
    assert [str(r) for r in pickle.loads(stored.read_bytes())] == [str(r) for r in fresh]


def test_reversible_rules_read_both_ways(tmp_path):
    """`<=>` marks a rule the search uses in both directions: reversed, it is the same
    identity under the same name and guards."""
    both = tmp_path / "both.rules"
    both.write_text("scalar k\nswap-rule : inv(A B) <=> B^-1 A^-1  if square(A), square(B)  # MC 1.1\n"
                    "one-way : X^k X => X^(k + 1)  if integer(k)\n", encoding="utf-8")
    swap, one_way = load_rules(both)
    assert swap.reversible and not one_way.reversible
    back = swap.reversed()
    assert (back.lhs, back.rhs, back.name, back.guards) == (swap.rhs, swap.lhs, swap.name, swap.guards)
    assert str(swap) == f"swap-rule : {swap.lhs} <=> {swap.rhs}" and "<=>" not in str(one_way)


def test_reversible_rule_sides_bind_the_same_variables(tmp_path):
    broken = tmp_path / "lopsided.rules"
    broken.write_text("lop-sided : X^-1 X <=> I\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"lopsided\.rules:1: .*same pattern variables"):
        load_rules(broken)


@pytest.mark.parametrize("rule", [r for r in RULES if r.guards], ids=lambda r: f"{r.file}:{r.line}:{r.name}")
def test_guards_are_needed_where_they_are_written(rule):
    """A guard is not decoration: where a symmetric() or square() guard fails, the sides
    differ or one of them does not exist (a rule true without its guard says so by
    dropping it)."""
    kinds = {g for g, _ in rule.guards}
    if not kinds & {"symmetric", "square"}:
        pytest.skip("integer, positive, constant guards fix what the sampler gives")
    rng = np.random.default_rng(11)
    values, directions, dims = _pattern_values(rule, rng)
    for guard, variable in rule.guards:
        if guard == "symmetric":
            values[variable.name] = values[variable.name] + np.triu(rng.uniform(1, 2, values[variable.name].shape), 1)
    if "square" in kinds:
        pytest.skip("a square guard is checked by the shapes: the sides do not exist otherwise")
    if rule.lhs.op == "d":
        pytest.skip("differential rules are checked above")
    left = evaluate(rule.lhs, values, dims)
    right = _with_differentials(rule.rhs, values, directions, dims)
    assert not np.allclose(left, right, rtol=1e-6, atol=1e-7), f"{rule} holds without its guard"
