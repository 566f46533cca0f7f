"""Independent derivative oracle for the matcalc tests.

Contract
--------
Nothing here imports matcalc: no parser, no engine, no rules.  An identity is
written as a plain Python function over named arrays, against a tiny backend
namespace ``B`` (first argument), e.g.::

    lambda B, x, A: x.T @ A @ x
    lambda B, X: B.logdet(X)

The same function runs on two backends:

* ``NUMPY`` - float64 ``numpy.ndarray``s (used by the finite-difference oracle);
* ``SYMPY`` - ``numpy.ndarray``s of ``dtype=object`` whose entries are SymPy
  expressions (fresh real symbols).  Object arrays give exactly NumPy's
  semantics for ``@``, ``*``, ``.T``, broadcasting and slicing, so one function
  text serves both backends; matrix-level operations (``det``, ``inv``) go
  through ``sympy.Matrix``.

Representation (both backends): a vector is an ``(n, 1)`` column, a scalar a
``(1, 1)`` array (so ``a * X`` broadcasts), a matrix ``(p, q)``.  Functions may
return a row ``(1, m)``, which counts as a vector with one axis of length m.

Layouts (SYNTAX.md): a derivative of f by v has the axes of f and the axes of v
(scalar: none, vector: one, matrix: two).

* mixed:        axes of f, then axes of v
* numerator:    axes of f, then axes of v reversed
* denominator:  axes of v, then axes of f reversed (transpose of numerator)

Results with two axes are 2-D arrays, with one axis a column or a row (a row when
the axis comes from v in numerator layout, or from f in denominator layout), with
no axis a Python float, with more than two an ndarray in the layout's axis order.

Symmetric matrix variables: the derivative is the symmetric gradient
``(G + G^T)/2`` of the unstructured gradient G (differentiate w.r.t. all n*n
entries independently, then symmetrize over the two axes of v).

Public API
----------
``parse_spec``, ``concrete``, ``make_values``, ``to_matcalc``,
``numeric_derivative``, ``sympy_derivative``, ``numeric_hessian``,
``sympy_hessian``, ``arrange``, ``layout_shape``, ``assert_close``,
``Identity`` (one table row), ``seed_for``.
"""
from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import sympy as sp

LAYOUTS = ("mixed", "numerator", "denominator")

#: distinct concrete sizes per symbolic dimension, so transposition mistakes show.
SIZES = {"n": 3, "m": 2, "k": 4, "p": 5}


# --------------------------------------------------------------------------- backends
class _Backend:
    """Operations shared by both backends; subclasses supply the primitives."""

    dtype: object = float
    name = "?"

    # -- construction helpers
    def _as11(self, s):
        a = np.asarray(s, dtype=self.dtype)
        if a.ndim == 0:
            return a.reshape(1, 1)
        return a

    def eye(self, n):
        return np.eye(n, dtype=int).astype(self.dtype)

    def ones(self, n, m=1):
        return np.ones((n, m), dtype=int).astype(self.dtype)

    def zeros(self, n, m=1):
        return np.zeros((n, m), dtype=int).astype(self.dtype)

    def vstack(self, *items):
        """Column-vector literal ``[a; b; c]`` of scalar (1x1) items."""
        return np.vstack([self._as11(i) for i in items])

    def block(self, rows):
        """Matrix literal ``[a, b; c, d]`` of scalar items."""
        return np.block([[self._as11(i) for i in row] for row in rows])

    def entry(self, X, i, j=None):
        """1-based entry, as in the language: ``x[i]`` or ``X[i, j]`` (kept 1x1)."""
        if j is None:
            return X.reshape(-1, 1)[i - 1:i, :]
        return X[i - 1:i, j - 1:j]

    # -- elementwise, generic in terms of the primitives
    def sigmoid(self, Z):
        return 1 / (1 + self.exp(-Z))

    def softplus(self, Z):
        return self.log(1 + self.exp(Z))

    def hadamard(self, X, Y):
        return X * Y

    # -- reductions and structure
    def tr(self, X):
        assert X.shape[0] == X.shape[1], "trace of a non-square matrix"
        return self._as11(np.trace(X))

    def sum(self, X):
        return self._as11(X.sum())

    def sqnorm(self, X):
        return self.sum(X * X)

    def norm(self, X):
        """Euclidean norm of a vector, Frobenius norm of a matrix."""
        return self.sqrt(self.sqnorm(X))

    fro = norm

    def norm1(self, x):
        return self.sum(self.abs(x))

    def softmax(self, x):
        e = self.exp(x)
        return e / self.sum(e)

    def logsumexp(self, x):
        return self.log(self.sum(self.exp(x)))

    def kron(self, X, Y):
        return np.kron(X, Y)

    def diag(self, X):
        """Vector -> diagonal matrix; square matrix -> its diagonal as a column."""
        if X.shape[1] == 1 or X.shape[0] == 1:
            v = X.reshape(-1)
            D = self.zeros(v.size, v.size)
            for i in range(v.size):
                D[i, i] = v[i]
            return D
        assert X.shape[0] == X.shape[1]
        return np.array([[X[i, i]] for i in range(X.shape[0])], dtype=self.dtype)

    def mpow(self, X, k):
        out = X
        for _ in range(k - 1):
            out = out @ X
        return out

    def logdet(self, X):
        return self.log(self.det(X))


class NumpyBackend(_Backend):
    dtype = float
    name = "numpy"

    def exp(self, Z):
        return np.exp(Z)

    def log(self, Z):
        return np.log(Z)

    def sin(self, Z):
        return np.sin(Z)

    def cos(self, Z):
        return np.cos(Z)

    def tanh(self, Z):
        return np.tanh(Z)

    def sqrt(self, Z):
        return np.sqrt(Z)

    def abs(self, Z):
        return np.abs(Z)

    def relu(self, Z):
        return np.maximum(Z, 0.0)

    def det(self, X):
        return self._as11(np.linalg.det(X))

    def inv(self, X):
        return np.linalg.inv(X)


def _relu_sym(z):
    return sp.Piecewise((z, z > 0), (0, True))


class SympyBackend(_Backend):
    dtype = object
    name = "sympy"

    @staticmethod
    def _map(f, Z):
        return np.vectorize(f, otypes=[object])(Z)

    def exp(self, Z):
        return self._map(sp.exp, Z)

    def log(self, Z):
        return self._map(sp.log, Z)

    def sin(self, Z):
        return self._map(sp.sin, Z)

    def cos(self, Z):
        return self._map(sp.cos, Z)

    def tanh(self, Z):
        return self._map(sp.tanh, Z)

    def sqrt(self, Z):
        return self._map(sp.sqrt, Z)

    def abs(self, Z):
        return self._map(sp.Abs, Z)

    def relu(self, Z):
        return self._map(_relu_sym, Z)

    def det(self, X):
        return self._as11(sp.Matrix(X.tolist()).det(method="berkowitz"))

    def inv(self, X):
        M = sp.Matrix(X.tolist())
        return np.array((M.adjugate() / M.det(method="berkowitz")).tolist(), dtype=object)


NUMPY = NumpyBackend()
SYMPY = SympyBackend()


# --------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class Spec:
    """Kind and concrete 2-D oracle shape of one symbol."""

    kind: str            # "scalar" | "vector" | "matrix" | "symmetric"
    shape: tuple         # (1,1) | (n,1) | (p,q) | (n,n)
    props: frozenset     # e.g. {"pd"}, {"pos"}, {"away"}, {"inv"}, {"small"}
    text: str = ""

    @property
    def axes(self):
        if self.kind == "scalar":
            return ()
        if self.kind == "vector":
            return (self.shape[0],)
        return self.shape


_SPEC_RE = re.compile(r"^\s*(scalar|vector|matrix|symmetric)\s*(?:\[([^\]]*)\])?\s*(.*)$")


def size_of(tok: str, sizes: Mapping[str, int]) -> int:
    val = 1
    for part in tok.split("*"):
        part = part.strip()
        val *= int(part) if part.isdigit() else sizes[part]
    return val


def parse_spec(text, sizes: Mapping[str, int] = SIZES) -> Spec:
    """``"vector[n]"``, ``"matrix[n,m] inv"``, ``"symmetric[n] pd"``, ``"scalar"``,
    ``"vector[n*k]"``, ``"vector[2] pos"`` -> :class:`Spec` with concrete sizes."""
    if isinstance(text, Spec):
        return text
    mt = _SPEC_RE.match(text)
    if not mt:
        raise ValueError(f"bad spec {text!r}")
    kind, dims, props = mt.group(1), mt.group(2), frozenset(mt.group(3).split())
    ds = [size_of(d, sizes) for d in dims.split(",")] if dims else []
    if kind == "scalar":
        shape = (1, 1)
    elif kind == "vector":
        assert len(ds) == 1, text
        shape = (ds[0], 1)
    elif kind == "symmetric":
        assert len(ds) == 1, text
        shape = (ds[0], ds[0])
    else:
        assert len(ds) == 2, text
        shape = (ds[0], ds[1])
    return Spec(kind, shape, props, text)


def concrete(dims: Mapping[str, object]) -> dict:
    return {name: parse_spec(s) for name, s in dims.items()}


def seed_for(key: str) -> int:
    """A stable seed per row id (independent of PYTHONHASHSEED)."""
    return zlib.crc32(key.encode("utf-8"))


# --------------------------------------------------------------------------- values
def _draw(spec: Spec, rng: np.random.Generator) -> np.ndarray:
    r, c = spec.shape
    props = spec.props
    if spec.kind == "scalar":
        if "away" in props or "signed" in props:
            v = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 1.2)
        else:
            v = rng.uniform(0.3, 1.2)
        return np.array([[v]])
    if spec.kind == "symmetric":
        M = rng.normal(size=(r, r))
        if "pd" in props:
            return M @ M.T / r + 0.5 * np.eye(r)
        return 0.5 * (M + M.T) * 0.7
    # vectors and matrices
    if "pos" in props:
        return rng.uniform(0.5, 2.0, size=(r, c))
    if "prob" in props:
        return rng.uniform(0.1, 0.9, size=(r, c))
    if "away" in props:
        return rng.choice([-1.0, 1.0], size=(r, c)) * rng.uniform(0.3, 1.5, size=(r, c))
    if "pd" in props:
        M = rng.normal(size=(r, r))
        return M @ M.T / r + 0.5 * np.eye(r)
    if "inv" in props or "posdet" in props:
        assert r == c, "an invertible matrix must be square"
        return np.eye(r) + 0.25 * rng.normal(size=(r, r))
    if "small" in props:
        return 0.2 * rng.normal(size=(r, c))
    return 0.7 * rng.normal(size=(r, c))


def _acceptable(spec: Spec, v: np.ndarray) -> bool:
    if "posdet" in spec.props and np.linalg.det(v) <= 0.2:
        return False
    if "inv" in spec.props and np.linalg.cond(v) > 10:
        return False
    return True


def make_values(dims: Mapping[str, object], seed: int, guard: Callable | None = None,
                tries: int = 200) -> dict:
    """Random well-conditioned values in oracle form (columns, 1x1 scalars), fixed seed.

    ``guard(values)`` (values in oracle form) may reject a draw, e.g. to keep the
    argument of ``relu``/``abs`` away from 0; it is retried deterministically."""
    specs = concrete(dims)
    rng = np.random.default_rng(seed)
    for _ in range(tries):
        vals = {}
        ok = True
        for name in sorted(specs):
            v = _draw(specs[name], rng)
            if not _acceptable(specs[name], v):
                ok = False
            vals[name] = v
        if ok and (guard is None or guard(vals)):
            return vals
    raise RuntimeError(f"could not draw acceptable values for {dims}")


def to_matcalc(values: Mapping[str, np.ndarray], dims: Mapping[str, object],
               vectors_1d: bool = False) -> dict:
    """Oracle-form values -> the form ``matcalc``'s ``evaluate`` takes
    (scalars as Python floats, vectors as columns or, optionally, 1-D)."""
    specs = concrete(dims)
    out = {}
    for name, v in values.items():
        kind = specs[name].kind
        if kind == "scalar":
            out[name] = float(np.asarray(v).reshape(-1)[0])
        elif kind == "vector":
            col = np.array(v, dtype=float).reshape(-1, 1)
            out[name] = col.reshape(-1) if vectors_1d else col
        else:
            out[name] = np.array(v, dtype=float)
    return out


def _as_oracle(v) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(-1, 1)
    return a


# --------------------------------------------------------------------------- layouts
def _axes_of(shape2d) -> tuple:
    """Axes of a 2-D oracle array: 1x1 -> scalar, (k,1)/(1,k) -> vector, else matrix."""
    r, c = shape2d
    if (r, c) == (1, 1):
        return ()
    if r == 1 or c == 1:
        return (r * c,)
    return (r, c)


def _flatten_f(F: np.ndarray) -> np.ndarray:
    """F (2-D) reshaped to its own axes."""
    return F.reshape(_axes_of(F.shape)) if F.shape != (1, 1) else F.reshape(())


def arrange(D: np.ndarray, f_ndim: int, v_ndim: int, layout: str):
    """Mixed-order tensor ``D`` (axes of f then axes of v) -> the layout's result
    (float / column / row / 2-D matrix / tensor), per SYNTAX.md."""
    if layout not in LAYOUTS:
        raise ValueError(layout)
    fa = list(range(f_ndim))
    va = list(range(f_ndim, f_ndim + v_ndim))
    if layout == "mixed":
        perm = fa + va
    elif layout == "numerator":
        perm = fa + va[::-1]
    else:
        perm = va + fa[::-1]
    T = np.transpose(np.asarray(D, dtype=float), perm) if perm else np.asarray(D, dtype=float)
    nd = f_ndim + v_ndim
    if nd == 0:
        return float(T)
    if nd == 1:
        from_f = f_ndim == 1
        row = (layout == "numerator" and not from_f) or (layout == "denominator" and from_f)
        return T.reshape(1, -1) if row else T.reshape(-1, 1)
    return T


def layout_shape(f_axes: tuple, v_axes: tuple, layout: str):
    """Shape of the result in a layout (``()`` for a float)."""
    D = np.zeros(tuple(f_axes) + tuple(v_axes))
    out = arrange(D, len(f_axes), len(v_axes), layout)
    return () if isinstance(out, float) else out.shape


def _symmetrize_last2(D: np.ndarray) -> np.ndarray:
    return 0.5 * (D + np.swapaxes(D, -1, -2))


# --------------------------------------------------------------------------- FD oracle
def _call(fn, backend, values):
    out = fn(backend, **values)
    out = np.array(out, dtype=backend.dtype, copy=True)  # never a view of an input
    if out.ndim == 0:
        out = out.reshape(1, 1)
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    assert out.ndim == 2, f"identity function returned shape {out.shape}"
    return out


def numeric_derivative(fn, values, wrt, layout="mixed", symmetric=(), h=1e-6):
    """Central finite differences of ``fn`` at ``values`` (oracle form; 1-D vectors
    and Python numbers are accepted) by ``wrt``, arranged in ``layout``.

    ``symmetric``: names of symmetric matrix variables; if ``wrt`` is one of them
    the unstructured gradient is symmetrized, (G + G^T)/2."""
    vals = {k: _as_oracle(v).copy() for k, v in values.items()}
    F0 = _call(fn, NUMPY, vals)
    f_axes = _axes_of(F0.shape)
    V = vals[wrt]
    v_axes = _axes_of(V.shape) if wrt not in symmetric else V.shape
    D = np.zeros(f_axes + tuple(v_axes))
    for idx in itertools.product(*[range(s) for s in V.shape]):
        x0 = V[idx]
        step = h * max(1.0, abs(x0))
        V[idx] = x0 + step
        fp = _flatten_f(_call(fn, NUMPY, vals))
        V[idx] = x0 - step
        fm = _flatten_f(_call(fn, NUMPY, vals))
        V[idx] = x0
        vidx = tuple(i for i, s in zip(idx, V.shape) if len(v_axes) == 2 or s != 1)
        D[(Ellipsis,) + vidx] = (fp - fm) / (2 * step)
    if wrt in symmetric:
        D = _symmetrize_last2(D)
    return arrange(D, len(f_axes), len(v_axes), layout)


def numeric_hessian(fn, values, wrt, h=1e-4):
    """n x n matrix of second partials of a scalar ``fn`` by a vector ``wrt``
    (or a float for a scalar ``wrt``), by central differences."""
    vals = {k: _as_oracle(v).copy() for k, v in values.items()}
    V = vals[wrt].reshape(-1)  # view
    n = V.size

    def f():
        out = _call(fn, NUMPY, vals)
        assert out.shape == (1, 1), "Hessian of a non-scalar"
        return float(out[0, 0])

    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            xi, xj = V[i], V[j]
            acc = 0.0
            for si, sj, w in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                V[i] = V[i] + si * h
                V[j] = V[j] + sj * h
                acc += w * f()
                V[i], V[j] = xi, xj
            H[i, j] = acc / (4 * h * h)
    if _axes_of(vals[wrt].shape) == ():
        return float(H[0, 0])
    return H


# --------------------------------------------------------------------------- SymPy oracle
def _symbols_for(specs: Mapping[str, Spec]):
    arrays, order = {}, []
    for name in sorted(specs):
        spec = specs[name]
        r, c = spec.shape
        A = np.empty((r, c), dtype=object)
        for i in range(r):
            for j in range(c):
                s = sp.Symbol(f"{name}__{i}_{j}", real=True)
                A[i, j] = s
                order.append((name, i, j, s))
        arrays[name] = A
    return arrays, order


_SYMPY_CACHE: dict = {}


def sympy_derivative(fn, dims, wrt, layout="mixed"):
    """Elementwise SymPy derivative at the concrete sizes of ``dims`` (name ->
    spec text or :class:`Spec`).  Returns ``evaluate(values) -> result in layout``.

    For a symmetric ``wrt`` the function is evaluated on an unstructured matrix of
    n*n independent symbols and the gradient symmetrized, (G + G^T)/2."""
    return sympy_derivatives(fn, dims, (wrt,), layout)


def sympy_hessian(fn, dims, wrt):
    """Second partials of a scalar ``fn`` by a vector (n x n) or scalar (float)."""
    return sympy_derivatives(fn, dims, (wrt, wrt))


# --------------------------------------------------------------------------- comparison
def assert_close(actual, expected, rtol=1e-5, atol=1e-7, what="oracle"):
    """Shape-exact comparison.  ``expected`` is a float or an ndarray from this
    module; ``actual`` must be a float (for a float) or an ndarray of the same
    shape.  ``atol`` is scaled by max(1, max|expected|)."""
    if isinstance(expected, float):
        assert isinstance(actual, (float, np.floating)) and not isinstance(actual, bool), (
            f"expected a float (scalar result), got {type(actual).__name__}: {actual!r}")
        scale = max(1.0, abs(expected))
        assert abs(float(actual) - expected) <= atol * scale + rtol * abs(expected), (
            f"{what}: got {actual!r}, expected {expected!r}")
        return
    assert isinstance(actual, np.ndarray), (
        f"expected an ndarray of shape {expected.shape}, got {type(actual).__name__}: {actual!r}")
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape} != expected {expected.shape}")
    scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected,
                               rtol=rtol, atol=atol * scale,
                               err_msg=f"{what} mismatch")


# --------------------------------------------------------------------------- table rows
@dataclass
class Identity:
    """One row of the identity table.

    expr      text in the SYNTAX.md language
    wrt       variable to differentiate by
    dims      name -> spec text (``"vector[n]"``, ``"symmetric[n] pd"`` ...)
    fn        backend function ``fn(B, **named_arrays)`` computing expr
    decl      keyword arguments for ``matcalc.diff`` (``scalars=``, ``symmetric=``)
    expected  textbook text of the mixed-layout result (``str(d)`` must equal it)
    formula   backend function giving the mixed-layout result (textbook identity),
              used to check the oracle itself
    guard     predicate on oracle-form values (keep kinks away, etc.)
    flags     free-form tags: "seed", "cookbook", "wiki", "tensor", ...
    ref       where the identity is printed (Matrix Cookbook section, a book's equation)
    book      the book's form of the mixed-layout result, transcribed into the language;
              read by matcalc it must equal the derivative, and it is
              the yardstick of benchmarks/textbook_form.py (tokens of matcalc's answer
              over tokens of this).  A source printing another layout is transposed into
              mixed, and ``ref`` says so.
    book_layouts  layout -> the book's form in that layout, for rows whose every layout
              is measured (the issue's table); mixed is ``book``
    """

    id: str
    expr: str
    wrt: str
    dims: dict
    fn: Callable
    decl: dict = field(default_factory=dict)
    expected: str | None = None
    formula: Callable | None = None
    guard: Callable | None = None
    flags: tuple = ()
    ref: str = ""
    book: str | None = None
    book_layouts: dict = field(default_factory=dict)

    @property
    def symmetric_names(self):
        return tuple(n for n, s in self.dims.items() if parse_spec(s).kind == "symmetric")

    def values(self, salt: str = ""):
        return make_values(self.dims, seed_for(self.id + salt), self.guard)

    def f_axes(self):
        vals = self.values()
        return _axes_of(_call(self.fn, NUMPY, vals).shape)

    def v_axes(self):
        spec = parse_spec(self.dims[self.wrt])
        return spec.axes

    def __repr__(self):  # short ids in pytest output
        return f"<{self.id}: d({self.expr})/d{self.wrt}>"


# --------------------------------------------------------------------------- derivatives in turn
def _mixed_tensor_symbolic(fn, dims, variables):
    """T[f axes, axes of v1, ..., axes of vk] of SymPy partials, each variable in turn."""
    key = (fn, tuple(sorted((k, str(v)) for k, v in dims.items())), tuple(variables), "sequence")
    if key in _SYMPY_CACHE:
        return _SYMPY_CACHE[key]
    specs = concrete(dims)
    arrays, order_list = _symbols_for(specs)
    F = _call(fn, SYMPY, arrays)
    f_axes = _axes_of(F.shape)
    T = F.reshape(f_axes) if f_axes else F.reshape(())
    axis_counts = [len(f_axes)]
    for wrt in variables:
        V = arrays[wrt]
        sym = specs[wrt].kind == "symmetric"
        v_axes = V.shape if sym else _axes_of(V.shape)
        Vf = V.reshape(v_axes) if v_axes else V.reshape(())
        D = np.empty(T.shape + tuple(v_axes), dtype=object)
        for ti in itertools.product(*[range(s) for s in T.shape]):
            for vi in itertools.product(*[range(s) for s in v_axes]):
                D[ti + vi] = sp.diff(T[ti], Vf[vi])
        if sym:
            D = (D + np.swapaxes(D, -1, -2)) / 2
        T = D
        axis_counts.append(len(v_axes))
    syms = [s for (_, _, _, s) in order_list]
    # the second derivative of abs is DiracDelta, zero at the points drawn (away from kinks)
    lam = sp.lambdify(syms, list(T.reshape(-1)), modules=[{"DiracDelta": lambda *_: 0.0}, "numpy"])
    entry = (lam, order_list, T.shape, axis_counts)
    _SYMPY_CACHE[key] = entry
    return entry


def sympy_derivatives(fn, dims, variables, layout="mixed"):
    """Elementwise SymPy derivative by each of ``variables`` in turn (a Hessian, a
    mixed partial, a k-th derivative).  The last variable's axes are placed by the
    layout after those of f and of the earlier variables (SYNTAX.md: a Hessian is
    the derivative of the mixed-layout gradient).  Symmetric variables: the
    unstructured derivative symmetrized over their two axes."""
    entry = _mixed_tensor_symbolic(fn, dims, variables)
    lam, order_list, shape, axis_counts = entry

    def evaluate(values):
        vals = {k: _as_oracle(v) for k, v in values.items()}
        args = [float(vals[name][i, j]) for (name, i, j, _) in order_list]
        D = np.array([float(o) for o in lam(*args)], dtype=float).reshape(shape)
        return arrange(D, sum(axis_counts[:-1]), axis_counts[-1], layout)

    return evaluate


def numeric_derivatives(fn, values, variables, layout="mixed", symmetric=(), h=None):
    """Nested central differences by each of ``variables`` in turn, arranged as
    :func:`sympy_derivatives` arranges them.  The step balances truncation (h^2)
    against rounding (eps / h^k) for k nested differences."""
    if h is None:
        h = np.finfo(float).eps ** (1 / (len(variables) + 2))
    vals = {k: _as_oracle(v).copy() for k, v in values.items()}
    f_axes = _axes_of(_call(fn, NUMPY, vals).shape)

    def tensor(level):
        if level == 0:
            return _flatten_f(_call(fn, NUMPY, vals))
        wrt = variables[level - 1]
        V = vals[wrt]
        v_axes = V.shape if wrt in symmetric else _axes_of(V.shape)
        base = tensor(level - 1)
        D = np.zeros(base.shape + tuple(v_axes))
        for idx in itertools.product(*[range(s) for s in V.shape]):
            x0 = V[idx]
            step = h * max(1.0, abs(x0))
            V[idx] = x0 + step
            plus = tensor(level - 1)
            V[idx] = x0 - step
            minus = tensor(level - 1)
            V[idx] = x0
            vidx = tuple(i for i, s in zip(idx, V.shape) if len(v_axes) == 2 or s != 1)
            D[(Ellipsis,) + vidx] = (plus - minus) / (2 * step)
        return _symmetrize_last2(D) if wrt in symmetric else D

    counts = [len(f_axes)] + [len(vals[w].shape if w in symmetric else _axes_of(vals[w].shape))
                              for w in variables]
    return arrange(tensor(len(variables)), sum(counts[:-1]), counts[-1], layout)
