"""The code generator (matcalc/codegen*.py): dialects, the value/gradient/Hessian module, and
the cost model's choices.

Every test executes the generated code and compares it with an independent value:
`Derivative.evaluate` (itself checked against SymPy and finite differences in
test_identities.py) for derivatives, the identity table's own NumPy function for values.
JAX and PyTorch tests are skipped, saying so, where the library is not installed.
Executing generated code is the test's doing: matcalc never executes it.
"""
import importlib.util
import re

import numpy as np
import pytest
from hypothesis import given, settings

import matcalc
import oracle
import test_identities
from matcalc.codegen import module_code, numpy_code
from test_code import awkward_programs

ROWS = [pytest.param(r.expr, r.wrt, r.dims, r.decl, r.id, id=r.id) for r in test_identities.ROWS]
HIGHER = [pytest.param(h[1], list(h[2]), h[3], h[5], h[0], id=h[0]) for h in test_identities.HIGHER]
HESSIANS = [pytest.param(h[1], h[2], h[3], h[5], h[0], h[4], id=h[0]) for h in test_identities.HESSIANS]

HAVE_JAX = importlib.util.find_spec("jax") is not None
HAVE_TORCH = importlib.util.find_spec("torch") is not None
DIALECTS = [
    pytest.param("jax", marks=pytest.mark.skipif(not HAVE_JAX, reason="JAX is not installed (pip install jax)")),
    pytest.param("torch", marks=pytest.mark.skipif(
        not HAVE_TORCH, reason="PyTorch is not installed (the CPU wheel: pip install torch==2.13.0)")),
]


def _run(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<matcalc code>", "exec"), namespace)   # noqa: S102 - our own output
    return namespace


def _values(dims, key):
    return oracle.to_matcalc(oracle.make_values(dims, oracle.seed_for(key)), dims)


def _array(value) -> np.ndarray:
    if hasattr(value, "detach"):           # a torch tensor
        value = value.detach().numpy()
    return np.asarray(value, dtype=float)


def _function_value(row_id, values):
    """The identity table's own NumPy function of a row, at matcalc-form values."""
    row = next(r for r in test_identities.ROWS if r.id == row_id)
    oracle_form = {name: np.atleast_2d(np.asarray(v, dtype=float)) if np.ndim(v) != 1
                   else np.asarray(v, dtype=float).reshape(-1, 1) for name, v in values.items()}
    return _array(row.fn(oracle.NUMPY, **oracle_form))


# ------------------------------------------------------------------ dialects
@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("expr, wrt, dims, decl, key", ROWS + HIGHER)
def test_dialect_code_computes_the_derivative(expr, wrt, dims, decl, key, dialect):
    d = matcalc.diff(expr, wrt, **decl)
    values = _values(dims, key)
    function = _run(numpy_code(d, dialect=dialect))["derivative"]
    got = _array(function(*(values[name] for name in d.analysis.symbols)))
    want = d.evaluate(values)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("expr, wrt, dims, decl, key", HIGHER)
def test_dialect_tensors_in_every_layout(expr, wrt, dims, decl, key, dialect, layout):
    d = matcalc.diff(expr, wrt, layout=layout, **decl)
    values = _values(dims, key)
    got = _array(_run(numpy_code(d, dialect=dialect))["derivative"](*(values[n] for n in d.analysis.symbols)))
    np.testing.assert_allclose(got, d.evaluate(values), rtol=1e-9, atol=1e-12)


@pytest.mark.skipif(not HAVE_JAX, reason="JAX is not installed (pip install jax)")
def test_jax_code_is_jit_compiled():
    import jax
    d = matcalc.diff("sum(log(1 + exp(-y .* (X w))))", "w", order=2)
    values = {"X": np.arange(6.0).reshape(3, 2) / 7, "y": np.array([1.0, -1.0, 1.0]), "w": np.array([0.3, -0.2])}
    function = jax.jit(_run(numpy_code(d, dialect="jax"))["derivative"])
    got = _array(function(*(values[n] for n in d.analysis.symbols)))
    np.testing.assert_allclose(got, d.evaluate(values), rtol=1e-9)


# ------------------------------------------------------------------ the module
@pytest.mark.parametrize("expr, wrt, dims, decl, key", ROWS)
def test_module_returns_value_and_gradient(expr, wrt, dims, decl, key):
    d = matcalc.diff(expr, wrt, **decl)
    values = _values(dims, key)
    evaluate = _run(module_code([d]))["evaluate"]
    value, gradient = evaluate(*(values[name] for name in d.analysis.symbols))
    want = _function_value(key, values)
    np.testing.assert_allclose(_array(value).reshape(want.shape), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gradient, d.evaluate(values), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dialect", ["numpy"] + DIALECTS)
@pytest.mark.parametrize("expr, wrt, dims, decl, key, fn", HESSIANS)
def test_module_returns_value_gradient_and_hessian(expr, wrt, dims, decl, key, fn, dialect):
    gradient = matcalc.diff(expr, wrt, **decl)
    hessian = matcalc.diff(expr, wrt, order=2, **decl)
    values = _values(dims, key)
    code = module_code([gradient, hessian], dialect=dialect)
    value, g, h = _run(code)["evaluate"](*(values[name] for name in gradient.analysis.symbols))
    oracle_form = {n: np.asarray(v, dtype=float).reshape(-1, 1) if np.ndim(v) == 1 else np.atleast_2d(v)
                   for n, v in values.items()}
    np.testing.assert_allclose(_array(value), _array(fn(oracle.NUMPY, **oracle_form)).reshape(()), rtol=1e-9)
    np.testing.assert_allclose(_array(g), gradient.evaluate(values), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(_array(h), hessian.evaluate(values), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("expr, wrt, dims, decl, key, fn", HESSIANS)
def test_self_test_passes_and_a_wrong_gradient_fails_it(expr, wrt, dims, decl, key, fn):
    gradient = matcalc.diff(expr, wrt, **decl)
    hessian = matcalc.diff(expr, wrt, order=2, **decl)
    code = module_code([gradient, hessian], self_test=True)
    assert _run(code)["self_test"]() is True
    # the same module with its gradient scaled: the finite-difference check must catch it
    namespace = _run(code)
    right = namespace["evaluate"]
    namespace["evaluate"] = lambda *a, **k: (lambda out: (out[0], 1.5 * out[1] + 0.1, out[2]))(right(*a, **k))
    with pytest.raises(AssertionError, match="gradient disagrees"):
        namespace["self_test"]()


def test_module_checks_shapes_with_clear_errors():
    d = matcalc.diff("||y - Phi theta||^2", "theta")
    evaluate = _run(module_code([d]))["evaluate"]
    y, Phi, theta = np.ones(4), np.ones((4, 3)), np.ones(3)
    assert evaluate(y, Phi, theta)[0] == pytest.approx(float(np.sum((y - Phi @ theta) ** 2)))
    with pytest.raises(ValueError, match=r"theta must have m = 3 rows \(as Phi\), not 2"):
        evaluate(y, Phi, np.ones(2))
    with pytest.raises(ValueError, match=r"Phi must have n = 4 rows \(as y\), not 5"):
        evaluate(y, np.ones((5, 3)), theta)
    with pytest.raises(ValueError, match=r"theta must be a vector"):
        evaluate(y, Phi, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"Phi must be a matrix"):
        evaluate(y, np.ones(12), theta)


def test_scipy_forms_minimise_least_squares():
    minimize = pytest.importorskip("scipy.optimize", reason="SciPy is not installed (pip install scipy)").minimize
    gradient = matcalc.diff("||y - Phi theta||^2", "theta")
    hessian = matcalc.diff("||y - Phi theta||^2", "theta", order=2)
    namespace = _run(module_code([gradient, hessian], scipy=True))
    rng = np.random.default_rng(3)
    y, Phi = rng.normal(size=6), rng.normal(size=(6, 3))
    found = minimize(namespace["fun"], np.zeros(3), args=(y, Phi), jac=True, hess=namespace["hess"],
                     method="trust-exact")
    np.testing.assert_allclose(found.x, np.linalg.lstsq(Phi, y, rcond=None)[0], rtol=1e-7)


def test_value_alone_and_refusals():
    d = matcalc.diff("x^T A x", "x")
    assert _run(module_code([], value=True, base=d))["evaluate"](np.ones(2), np.eye(2)) == 2.0
    with pytest.raises(matcalc.MatcalcError, match="at least one"):
        module_code([], value=False, base=d)
    with pytest.raises(matcalc.MatcalcError, match="vector"):
        module_code([matcalc.diff("tr(X^T X)", "X")], scipy=True)


# ------------------------------------------------------------------ names
@pytest.mark.parametrize("dialect", ["numpy"] + DIALECTS)
@settings(derandomize=True, database=None, deadline=None, max_examples=25)
@given(program=awkward_programs())
def test_awkward_names_never_reach_the_code(program, dialect):
    """User names equal to keywords, builtins, np/jnp/torch or the module's own names are
    renamed; the docstring says which argument is which symbol."""
    text, wrt, layout, (s, u, v, M), _ = program
    d = matcalc.diff(text, wrt, layout=layout)
    rng = np.random.default_rng(7)
    values = {s: 0.8, u: np.array([0.3, -0.5, 1.2]), v: rng.normal(size=2), M: rng.normal(size=(3, 2))}
    code = module_code([d], dialect=dialect)
    compile(code, "<matcalc code>", "exec")
    value, gradient = _run(code)["evaluate"](*(values[name] for name in d.analysis.symbols))
    np.testing.assert_allclose(_array(gradient), d.evaluate(values), rtol=1e-12, atol=1e-12)
    for name in d.analysis.symbols:
        if not name.isidentifier() or name in ("np", "jnp", "torch", "evaluate", "lambda", "def", "class"):
            assert re.search(rf"\(the symbol {re.escape(name)}\)", code)


# ------------------------------------------------------------------ what the cost model chooses
ISSUE_CASES = [
    # (expression, variables, declarations, sizes, text the code must not contain)
    ("x^T A x", ["x"], {}, {"n": 1000}, ["A + A.T", "(A.T + A)"]),
    ("sum(log(1 + exp(-y .* (X w))))", ["w", "w"], {}, {"n": 2000, "m": 1000}, ["diagflat", "eye("]),
    ("T: matrix[n,m]; U: matrix[n,k]; V: matrix[m,k]; ||T - U V^T||_F^2", ["U", "U"], {},
     {"n": 1000, "m": 1000, "k": 5}, ["kron", "eye(", "reshape"]),
    ("h = tanh(W1 x + b1); yhat = W2 h + b2; 1/2 ||yhat - y||^2", ["W1", "W1"], {}, {"n": 30, "m": 30, "k": 30},
     ["kron", "eye(", "diagflat"]),
    ("1/2 logdet(S) + 1/2 (x - mu)^T inv(S) (x - mu)", ["S"], {}, {"n": 1000}, ["eye("]),
    ("1/2 logdet(S) + 1/2 (x - mu)^T inv(S) (x - mu)", ["S"], {"symmetric": ("S",)}, {"n": 1000}, ["eye("]),
    ("T: matrix[n,m]; U: matrix[n,k]; V: matrix[m,k]; ||T - U V^T||_F^2", ["U"], {},
     {"n": 1000, "m": 1000, "k": 5}, ["U @ V.T"]),
]


@pytest.mark.parametrize("expr, wrt, decl, sizes, absent", ISSUE_CASES)
def test_the_issue_cases_materialise_nothing_and_compute_each_part_once(expr, wrt, decl, sizes, absent):
    d = matcalc.diff(expr, wrt, **decl)
    code = numpy_code(d, sizes=sizes)
    for text in absent:
        assert text not in code
    assert len(re.findall(r"np\.linalg\.inv\(", code)) <= 1
    assert len(re.findall(r"np\.tanh\(|np\.exp\(", code)) <= 1
    rng = np.random.default_rng(5)
    values = {}
    for name, symbol in d.analysis.symbols.items():
        shape = tuple(3 if isinstance(s, str) else s for s in symbol.shape)
        values[name] = rng.normal(size=shape[:1] if symbol.kind == "vector" else shape)
        if name == "S":
            values[name] = values[name] @ values[name].T + 3 * np.eye(3)
    got = _run(code)["derivative"](*(values[name] for name in d.analysis.symbols))
    np.testing.assert_allclose(got, d.evaluate(values), rtol=1e-10, atol=1e-12)
    assert not d.is_tensor or got.flags.c_contiguous


def test_a_product_of_a_sum_is_distributed_only_where_cheaper():
    """(T - U V^T) V: distributed for a thin V (k << n), kept for a square one."""
    d = matcalc.diff("T: matrix[n,m]; U: matrix[n,k]; V: matrix[m,k]; ||T - U V^T||_F^2", "U")
    assert "U @ (V.T @ V)" in numpy_code(d, sizes={"n": 1000, "m": 1000, "k": 5})
    assert "(T - (U @ V.T)) @ V" in numpy_code(d, sizes={"n": 100, "m": 100, "k": 100})


@pytest.mark.parametrize("dialect", [pytest.param("numpy")] + DIALECTS)
def test_a_vector_written_into_a_diagonal_keeps_its_power_together(dialect):
    """Found by the fuzzer: `np.exp(y)**(-1).reshape(-1)` reshaped the -1 (no space, yet not
    one operand), so the diagonal of this Jacobian went wrong."""
    d = matcalc.diff("scalar a, b; softmax(([2; a] + [b; 2]) ./ exp(x)) + (x ./ exp(y) + [2; 2])", "x")
    rng = np.random.default_rng(5)
    values = {"a": 0.3, "b": -0.7, "x": rng.normal(size=2), "y": rng.normal(size=2)}
    function = _run(numpy_code(d, dialect=dialect))["derivative"]
    got = _array(function(*(values[name] for name in d.analysis.symbols)))
    np.testing.assert_allclose(got, d.evaluate(values), rtol=1e-9, atol=1e-12)


def test_code_resting_on_an_assumption_says_so():
    d = matcalc.diff("assume sum(y) = 1; -y^T log(softmax(W x + b))", "b")
    assert "; assume sum(y) = 1." in _run(numpy_code(d))["derivative"].__doc__.splitlines()[0]
    module = _run(module_code([d]))
    assert "; assume sum(y) = 1." in module["evaluate"].__doc__.splitlines()[0]
    assert "assume" not in _run(numpy_code(matcalc.diff("x^T x", "x")))["derivative"].__doc__
