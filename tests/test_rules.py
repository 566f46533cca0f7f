"""Every rule in rules/ is sound, and every rule fires somewhere.

Soundness is checked numerically on random arrays, independently of the engine
that uses the rules: a plain identity by evaluating both sides; a differential
identity d(P) => R by replacing every d(Q) with the central difference of Q
along random directions of all pattern variables.
"""
import pickle

import numpy as np
import pytest

import matcalc
from matcalc import expr as E
from matcalc.evaluate_numpy import evaluate
from matcalc.expr import postorder
from matcalc.rules import RuleFileError, fired, load_rules, ruleset

RULES = [rule for stem in ("differentials", "simplify") for rule in ruleset(stem)]
SIZES = (3, 2, 4)
STEP = 1e-6


def _pattern_values(rule, rng):
    variables = [n for n in postorder(rule.lhs) if n.op == "sym"]
    dims = {}
    for v in variables:
        for d in v.shape:
            if isinstance(d, str) and d not in dims:
                dims[d] = SIZES[len(dims) % len(SIZES)]
    guarded = {var: g for g, var in rule.guards}
    values, directions = {}, {}
    for v in variables:
        name, kind = v.value
        rows, cols = (dims.get(d, d) for d in v.shape)
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
    ("kron(x, y^T) z", "z", {}), ("kron(y^T, x) z", "z", {}),
]


def test_every_rule_fires_somewhere():
    fired.clear()
    for text, wrt, options in FIRING_CORPUS:
        matcalc.diff(text, wrt, **options)
    never = sorted(f"{r.file}:{r.line} {r.name}" for r in RULES if fired[r.file, r.name] == 0)
    assert never == [], f"rules that never fire: {never}"


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
