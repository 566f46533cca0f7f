"""Tests of the oracle itself (tests/oracle.py); matcalc is not needed here.

* hand-computed NumPy gradients equal the finite-difference oracle;
* the layout conventions of SYNTAX.md (shapes, numerator = transpose of denominator);
* for EVERY row of the identity table: finite differences == elementwise SymPy
  in all three layouts, and the row's textbook formula == finite differences;
* the table is well formed (every symbol of the text has a spec, and vice versa).

Run: ``python -m pytest tests/test_oracle.py -q``
"""
import importlib.util
import inspect
import os
import re
import sys
import types

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np
import pytest

import oracle
from oracle import LAYOUTS


def _load_identity_table():
    """Read the table of tests/test_identities.py without requiring matcalc.

    That module imports matcalc at top level (its tests must fail without the
    engine).  If matcalc cannot be imported, a placeholder module stands in only
    while the table is read, under a private module name, and is removed at once,
    so it can never leak into the identity tests."""
    path = os.path.join(os.path.dirname(__file__), "test_identities.py")
    spec = importlib.util.spec_from_file_location("_matcalc_identity_table", path)
    mod = importlib.util.module_from_spec(spec)
    placeholder = False
    if "matcalc" not in sys.modules:
        try:
            import matcalc  # noqa: F401
        except Exception:
            sys.modules["matcalc"] = types.ModuleType("matcalc")
            placeholder = True
    try:
        spec.loader.exec_module(mod)
    finally:
        if placeholder:
            del sys.modules["matcalc"]
    return mod


TABLE = _load_identity_table()
ROWS = TABLE.ROWS
IDS = [r.id for r in ROWS]
FORMULA_ROWS = [r for r in ROWS if r.formula is not None]


# --------------------------------------------------------------------------- by hand
def test_oracle_xAx_gradient_by_hand():
    rng = np.random.default_rng(0)
    x, A = rng.normal(size=(3, 1)), rng.normal(size=(3, 3))
    fn = lambda B, x, A: x.T @ A @ x  # noqa: E731
    g = (A + A.T) @ x
    vals = {"x": x, "A": A}
    mixed = oracle.numeric_derivative(fn, vals, "x", "mixed")
    num = oracle.numeric_derivative(fn, vals, "x", "numerator")
    den = oracle.numeric_derivative(fn, vals, "x", "denominator")
    assert mixed.shape == (3, 1) and den.shape == (3, 1) and num.shape == (1, 3)
    np.testing.assert_allclose(mixed, g, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(den, g, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(num, g.T, rtol=1e-7, atol=1e-8)
    sy = oracle.sympy_derivative(fn, {"x": "vector[n]", "A": "matrix[n,n]"}, "x", "numerator")
    np.testing.assert_allclose(sy(vals), g.T, rtol=1e-12)


def test_oracle_1d_vectors_and_numbers_accepted():
    fn = lambda B, a, x: a * x.T @ x  # noqa: E731
    x = np.array([1.0, 2.0, 3.0])
    g = oracle.numeric_derivative(fn, {"a": 0.5, "x": x}, "x")
    np.testing.assert_allclose(g, x.reshape(-1, 1), rtol=1e-8)
    da = oracle.numeric_derivative(fn, {"a": 0.5, "x": x}, "a", "denominator")
    assert isinstance(da, float) and abs(da - 14.0) < 1e-7


def test_oracle_jacobian_of_Wx_is_W():
    rng = np.random.default_rng(1)
    W, x = rng.normal(size=(4, 3)), rng.normal(size=(3, 1))
    fn = lambda B, W, x: W @ x  # noqa: E731
    for layout, want in (("mixed", W), ("numerator", W), ("denominator", W.T)):
        np.testing.assert_allclose(oracle.numeric_derivative(fn, {"W": W, "x": x}, "x", layout),
                                   want, rtol=1e-8, atol=1e-9)


def test_oracle_row_vector_output_counts_as_vector():
    """x^T W (1 x k) by x: one axis of length k; Jacobian k x n = W^T (seed 003)."""
    rng = np.random.default_rng(2)
    W, x = rng.normal(size=(3, 4)), rng.normal(size=(3, 1))
    fn = lambda B, W, x: x.T @ W  # noqa: E731
    np.testing.assert_allclose(oracle.numeric_derivative(fn, {"W": W, "x": x}, "x"), W.T,
                               rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(
        oracle.numeric_derivative(fn, {"W": W, "x": x}, "x", "denominator"), W, rtol=1e-8,
        atol=1e-9)


def test_oracle_matrix_by_scalar_and_vector_by_scalar_layouts():
    rng = np.random.default_rng(3)
    P, p = rng.normal(size=(3, 2)), rng.normal(size=(4, 1))
    vals = {"t": 0.7, "P": P, "p": p}
    fP = lambda B, t, P, p: t * P  # noqa: E731
    fp = lambda B, t, P, p: t * p  # noqa: E731
    np.testing.assert_allclose(oracle.numeric_derivative(fP, vals, "t", "mixed"), P, rtol=1e-8)
    np.testing.assert_allclose(oracle.numeric_derivative(fP, vals, "t", "numerator"), P, rtol=1e-8)
    np.testing.assert_allclose(oracle.numeric_derivative(fP, vals, "t", "denominator"), P.T,
                               rtol=1e-8)
    np.testing.assert_allclose(oracle.numeric_derivative(fp, vals, "t", "mixed"), p, rtol=1e-8)
    np.testing.assert_allclose(oracle.numeric_derivative(fp, vals, "t", "numerator"), p, rtol=1e-8)
    np.testing.assert_allclose(oracle.numeric_derivative(fp, vals, "t", "denominator"), p.T,
                               rtol=1e-8)


def test_oracle_scalar_by_matrix_layouts():
    """tr(A X): mixed and denominator A^T (p x q), numerator A (q x p)."""
    rng = np.random.default_rng(4)
    A, X = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    fn = lambda B, A, X: B.tr(A @ X)  # noqa: E731
    vals = {"A": A, "X": X}
    np.testing.assert_allclose(oracle.numeric_derivative(fn, vals, "X", "mixed"), A.T, rtol=1e-8)
    np.testing.assert_allclose(oracle.numeric_derivative(fn, vals, "X", "denominator"), A.T,
                               rtol=1e-8)
    np.testing.assert_allclose(oracle.numeric_derivative(fn, vals, "X", "numerator"), A,
                               rtol=1e-8)


@pytest.mark.parametrize("f_axes,v_axes,want", [
    ((), (3,), {"mixed": (3, 1), "numerator": (1, 3), "denominator": (3, 1)}),
    ((), (3, 2), {"mixed": (3, 2), "numerator": (2, 3), "denominator": (3, 2)}),
    ((4,), (3,), {"mixed": (4, 3), "numerator": (4, 3), "denominator": (3, 4)}),
    ((4,), (), {"mixed": (4, 1), "numerator": (4, 1), "denominator": (1, 4)}),
    ((3, 2), (), {"mixed": (3, 2), "numerator": (3, 2), "denominator": (2, 3)}),
    ((), (), {"mixed": (), "numerator": (), "denominator": ()}),
    ((4,), (3, 2), {"mixed": (4, 3, 2), "numerator": (4, 2, 3), "denominator": (3, 2, 4)}),
    ((3, 2), (3, 2), {"mixed": (3, 2, 3, 2), "numerator": (3, 2, 2, 3),
                      "denominator": (3, 2, 2, 3)}),
])
def test_oracle_layout_shapes_match_syntax_md(f_axes, v_axes, want):
    for layout in LAYOUTS:
        assert oracle.layout_shape(f_axes, v_axes, layout) == want[layout]


def test_oracle_tensor_axes_of_Wx_by_W():
    """mixed: D[i, a, b] = d(Wx)_i / dW_ab = delta_ia x_b; numerator swaps the v axes;
    denominator is the full transpose of numerator."""
    rng = np.random.default_rng(5)
    W, x = rng.normal(size=(4, 3)), rng.normal(size=(3, 1))
    fn = lambda B, W, x: W @ x  # noqa: E731
    D = np.einsum("ia,b->iab", np.eye(4), x[:, 0])
    vals = {"W": W, "x": x}
    np.testing.assert_allclose(oracle.numeric_derivative(fn, vals, "W", "mixed"), D, atol=1e-8)
    num = oracle.numeric_derivative(fn, vals, "W", "numerator")
    np.testing.assert_allclose(num, D.transpose(0, 2, 1), atol=1e-8)
    np.testing.assert_allclose(oracle.numeric_derivative(fn, vals, "W", "denominator"),
                               num.transpose(2, 1, 0), atol=1e-8)


def test_oracle_symmetric_gradient():
    rng = np.random.default_rng(6)
    M = rng.normal(size=(3, 3))
    S = M @ M.T + np.eye(3)
    C = rng.normal(size=(3, 3))
    vals = {"S": S, "C": C}
    f1 = lambda B, S, C: B.logdet(S)  # noqa: E731
    f2 = lambda B, S, C: B.tr(S @ C)  # noqa: E731
    np.testing.assert_allclose(oracle.numeric_derivative(f1, vals, "S", symmetric=("S",)),
                               np.linalg.inv(S), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(oracle.numeric_derivative(f2, vals, "S", symmetric=("S",)),
                               (C + C.T) / 2, rtol=1e-6, atol=1e-8)
    # unstructured: C^T
    np.testing.assert_allclose(oracle.numeric_derivative(f2, vals, "S"), C.T, rtol=1e-6, atol=1e-8)
    dims = {"S": "symmetric[n] pd", "C": "matrix[n,n]"}
    np.testing.assert_allclose(oracle.sympy_derivative(f2, dims, "S")(vals), (C + C.T) / 2,
                               rtol=1e-12)


def test_oracle_hessian_of_quadratic():
    rng = np.random.default_rng(7)
    x, A = rng.normal(size=(3, 1)), rng.normal(size=(3, 3))
    fn = lambda B, x, A: x.T @ A @ x  # noqa: E731
    vals = {"x": x, "A": A}
    np.testing.assert_allclose(oracle.numeric_hessian(fn, vals, "x"), A + A.T, atol=1e-5)
    H = oracle.sympy_hessian(fn, {"x": "vector[n]", "A": "matrix[n,n]"}, "x")(vals)
    np.testing.assert_allclose(H, A + A.T, rtol=1e-12)


def test_oracle_values_properties_and_determinism():
    dims = {"S": "symmetric[n] pd", "z": "vector[k] pos", "u": "vector[n] away",
            "X": "matrix[n,n] posdet", "Y": "matrix[m,n]", "t": "scalar", "q": "vector[p] prob"}
    v1 = oracle.make_values(dims, 123)
    v2 = oracle.make_values(dims, 123)
    for k in dims:
        np.testing.assert_array_equal(v1[k], v2[k])
    assert v1["S"].shape == (3, 3) and np.allclose(v1["S"], v1["S"].T)
    assert np.all(np.linalg.eigvalsh(v1["S"]) > 0)
    assert v1["z"].shape == (4, 1) and np.all(v1["z"] > 0)
    assert np.all(np.abs(v1["u"]) >= 0.3)
    assert np.linalg.det(v1["X"]) > 0
    assert v1["Y"].shape == (2, 3) and v1["t"].shape == (1, 1)
    assert v1["q"].shape == (5, 1) and np.all((v1["q"] > 0) & (v1["q"] < 1))
    mc = oracle.to_matcalc(v1, dims)
    assert isinstance(mc["t"], float) and mc["z"].shape == (4, 1)
    assert oracle.to_matcalc(v1, dims, vectors_1d=True)["z"].shape == (4,)


def test_oracle_assert_close_is_strict():
    a = np.ones((3, 1))
    with pytest.raises(AssertionError):
        oracle.assert_close(a.T, a)  # a row is not a column
    with pytest.raises(AssertionError):
        oracle.assert_close(a * 1.001, a)
    with pytest.raises(AssertionError):
        oracle.assert_close(np.array([[1.0]]), 1.0)  # a scalar result is a float
    oracle.assert_close(1.0 + 1e-9, 1.0)


# --------------------------------------------------------------------------- the table
_KEYWORDS = {"scalar", "vector", "matrix", "symmetric", "I", "T",
             "tr", "det", "logdet", "inv", "diag", "sum", "norm", "exp", "log", "sin", "cos",
             "tanh", "sigmoid", "sqrt", "abs", "relu", "softplus", "softmax", "logsumexp", "kron", "vec"}


def _free_symbols(expr):
    text = re.sub(r"\|\|_(F|1|2)", "||", expr)
    text = re.sub(r"\^T", "", text)
    names = set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", text))
    defined = set(re.findall(r"(?:^|;)\s*([A-Za-z][A-Za-z0-9_]*)\s*=", expr))
    return names - _KEYWORDS - defined


def test_oracle_table_size_and_ids():
    assert len(IDS) == len(set(IDS))
    assert 80 <= len(ROWS) <= 300


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_oracle_table_row_well_formed(row):
    assert _free_symbols(row.expr) == set(row.dims), row.expr
    params = list(inspect.signature(row.fn).parameters)
    assert params[0] == "B" and set(params[1:]) == set(row.dims)
    assert row.wrt in row.dims
    specs = oracle.concrete(row.dims)
    inline_scalars = set(re.findall(r"scalar\s+([A-Za-z0-9_, ]+);", row.expr))
    inline = {n.strip() for grp in inline_scalars for n in grp.split(",")}
    declared = set(row.decl.get("scalars", ())) | inline
    assert declared == {n for n, s in specs.items() if s.kind == "scalar"}
    assert set(row.decl.get("symmetric", ())) == set(row.symmetric_names)
    if row.expected is not None:
        assert row.formula is not None, "a textbook text needs its formula"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_oracle_sympy_agrees_with_fd(row, layout):
    values = row.values()
    fd = oracle.numeric_derivative(row.fn, values, row.wrt, layout, symmetric=row.symmetric_names)
    sy = oracle.sympy_derivative(row.fn, row.dims, row.wrt, layout)(values)
    oracle.assert_close(fd, sy, rtol=1e-6, atol=1e-8, what=f"{row.id}: FD vs SymPy")
    want = oracle.layout_shape(row.f_axes(), row.v_axes(), layout)
    assert (() if isinstance(sy, float) else sy.shape) == want


@pytest.mark.parametrize("row", FORMULA_ROWS, ids=[r.id for r in FORMULA_ROWS])
def test_oracle_textbook_formula_agrees_with_fd(row):
    values = row.values()
    fd = oracle.numeric_derivative(row.fn, values, row.wrt, "mixed", symmetric=row.symmetric_names)
    f = np.asarray(row.formula(oracle.NUMPY, **values), dtype=float)
    f = float(f.reshape(-1)[0]) if isinstance(fd, float) else f.reshape(fd.shape)
    oracle.assert_close(f, fd, rtol=1e-6, atol=1e-8, what=f"{row.id}: formula vs FD")


@pytest.mark.parametrize("h", TABLE.HESSIANS, ids=TABLE.HESSIAN_IDS)
def test_oracle_hessian_table(h):
    hid, expr, wrt, dims, fn, decl, formula = h
    values = oracle.make_values(dims, oracle.seed_for(hid))
    sy = oracle.sympy_hessian(fn, dims, wrt)(values)
    fd = oracle.numeric_hessian(fn, values, wrt)
    f = np.asarray(formula(oracle.NUMPY, **values), dtype=float)
    f = float(f.reshape(-1)[0]) if isinstance(sy, float) else f
    oracle.assert_close(fd, sy, rtol=1e-4, atol=1e-5, what=f"{hid}: FD vs SymPy")
    oracle.assert_close(f, sy, rtol=1e-8, atol=1e-10, what=f"{hid}: formula vs SymPy")
