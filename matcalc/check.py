"""Cross-check a Derivative against two independent oracles.

Contract: `check(d)` instantiates the expression at small concrete sizes (a
distinct size per symbolic dimension, 2 to 4) as SymPy matrices of symbols,
differentiates it entry by entry with SymPy, arranges the entries in d's
layout and compares them with d's own result: symbolically where `expand`
settles it, else at random points; then it compares d.evaluate with central
finite differences at a random point.  It returns a CheckReport, or raises
CheckError naming the first entry that disagrees.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple
from itertools import product as cartesian

import numpy as np
import sympy as sp
from sympy.matrices.exceptions import NonInvertibleMatrixError

from .derivative import axes, variable_axes
from .emit_numpy import DomainError, _dim, evaluate
from .emit_sympy import symbol_matrix, to_sympy
from .errors import CheckError
from .evaluation import bind
from .expr import postorder

SIZES = (2, 3, 4)
TOLERANCE = 1e-6
SYMBOLIC_OPS = 400   # larger differences (inverses of products, say) are compared at points


class Arrangement(NamedTuple):
    """Which entries of f and of the variable there are, and how the layout places them."""
    f_entries: list
    v_entries: list
    f_axes: int
    v_axes: int
    layout: str
    shape: tuple


@dataclass
class CheckReport:
    sizes: dict
    symbolic: int
    numeric: int
    finite_difference_error: float

    def summary(self) -> str:
        sizes = ", ".join(f"{d}={n}" for d, n in self.sizes.items()) or "scalars"
        entries = self.symbolic + self.numeric
        how = f"{self.symbolic} symbolically" + (f", {self.numeric} at random points" if self.numeric else "")
        return (f"elementwise SymPy at {sizes} ({entries} entries: {how}) · finite differences "
                f"at a random point (max relative error {self.finite_difference_error:.1e})")


def concrete_sizes(symbols, sizes=SIZES) -> dict:
    """A distinct small size per symbolic dimension, in order of appearance."""
    chosen: dict = {}
    for s in symbols:
        for d in s.shape:
            if isinstance(d, str) and "*" not in d and d not in chosen:
                chosen[d] = sizes[len(chosen) % len(sizes)]
    return chosen


# Some expressions are undefined at some sizes (X^T X is singular when X is 2 x 3):
# try the sizes in another order before giving up.
SIZE_ORDERS = (SIZES, (3, 2, 4), (2, 4, 3), (4, 3, 2))


def random_values(symbols, dims: dict, rng) -> dict:
    """A point where the usual functions are defined: positive vectors and scalars,
    diagonally dominant (so invertible, with positive determinant) square matrices."""
    values = {}
    for s in symbols:
        name, kind = s.value
        rows, cols = _dim(s.shape[0], dims), _dim(s.shape[1], dims)
        if kind == "scalar":
            values[name] = float(rng.uniform(0.5, 1.5))
        elif kind == "vector":
            values[name] = rng.uniform(0.3, 1.3, size=rows)
        else:
            m = rng.uniform(-1, 1, size=(rows, cols))
            if kind == "symmetric":
                m = (m + m.T) / 2
            if rows == cols:
                m = m + rows * np.eye(rows)
            values[name] = m
    return values


def _entries(e_shape: tuple, matrix_axes: int):
    """Index pairs (row, col) of an f or a variable, by its axes."""
    rows, cols = e_shape
    if matrix_axes == 0:
        return [((), (0, 0))]
    if matrix_axes == 1:
        length = rows if cols == 1 else cols
        return [((i,), (i, 0) if cols == 1 else (0, i)) for i in range(length)]
    return [((i, j), (i, j)) for i in range(rows) for j in range(cols)]


def _arrange(table: dict, f_entries, v_entries, f_axes: int, v_axes: int, layout: str, out_shape):
    """Put d f[a] / d v[b] at its place in the layout, as a 2-D array of out_shape."""
    f_sizes = _axis_sizes(f_entries, f_axes)
    v_sizes = _axis_sizes(v_entries, v_axes)
    tensor = np.empty(tuple(f_sizes) + tuple(v_sizes), dtype=object)
    for (fa, _), (va, _) in cartesian(f_entries, v_entries):
        tensor[fa + va] = table[fa, va]
    f_order = list(range(f_axes))
    v_order = list(range(f_axes, f_axes + v_axes))
    order = {"mixed": f_order + v_order, "numerator": f_order + v_order[::-1],
             "denominator": v_order + f_order[::-1]}[layout]
    return np.transpose(tensor, order).reshape(out_shape)


def _axis_sizes(entries, count):
    return [max(index[k] for index, _ in entries) + 1 for k in range(count)]


def _documented_shape(f_axes, v_axes, layout, f_shape, v_shape) -> tuple:
    """The 2-D shape SYNTAX.md gives the result: the layout's order of the axis lengths;
    a 1-axis result is a column, except numerator by a vector and denominator of a vector."""
    def lengths(shape, count):
        return [n for n in shape if n != 1] if count == 1 else list(shape)[:count]
    f_lengths, v_lengths = lengths(f_shape, f_axes), lengths(v_shape, v_axes)
    ordered = {"mixed": f_lengths + v_lengths, "numerator": f_lengths + v_lengths[::-1],
               "denominator": v_lengths + f_lengths[::-1]}[layout]
    if len(ordered) == 0:
        return (1, 1)
    if len(ordered) == 1:
        row = (layout == "numerator" and v_axes == 1) or (layout == "denominator" and f_axes == 1)
        return (1, ordered[0]) if row else (ordered[0], 1)
    return tuple(ordered)


def check(derivative, seed: int = 0) -> CheckReport:
    symbols = list(derivative.analysis.symbols.values())
    problems = []
    for order in SIZE_ORDERS:
        dims = concrete_sizes(symbols, order)
        try:
            return _check_at(derivative, symbols, dims, seed)
        except (ZeroDivisionError, NonInvertibleMatrixError, DomainError) as exc:
            problems.append(f"{', '.join(f'{d}={n}' for d, n in dims.items())}: {exc}")
    raise CheckError("the expression is undefined at every size tried (" + "; ".join(problems) + ")")


def _check_at(derivative, symbols, dims, seed) -> CheckReport:
    f, variable = derivative.function, derivative.variable
    f_axes, v_axes = axes(f), variable_axes(variable)
    result_shape = tuple(_dim(d, dims) for d in derivative.shape)
    f_shape = tuple(_dim(d, dims) for d in f.shape)
    v_shape = tuple(_dim(d, dims) for d in variable.shape)
    layout = derivative.layout
    if derivative.order == 2 and v_axes:
        # the Hessian: the mixed-layout derivative of the gradient, in every layout
        f_axes, f_shape, layout = 1, v_shape, "mixed"
    expected_shape = _documented_shape(f_axes, v_axes, layout, f_shape, v_shape)
    if result_shape != expected_shape:
        raise CheckError(f"the result is {result_shape[0]} x {result_shape[1]}, but the "
                         f"{derivative.layout} layout asks for {expected_shape[0]} x {expected_shape[1]}")
    problem = Arrangement(_entries(f_shape, f_axes), _entries(v_shape, v_axes), f_axes, v_axes,
                          layout, result_shape)
    # finite differences first: cheap, and they find sizes where f is undefined
    error = _check_finite_differences(derivative, symbols, dims, problem, seed)
    symbolic, numeric = _check_sympy(derivative, symbols, dims, problem, seed)
    return CheckReport(dims, symbolic, numeric, error)


def _check_sympy(derivative, symbols, dims, problem, seed):
    f_entries, v_entries, f_axes, v_axes, layout, shape = problem
    env = {s.value[0]: symbol_matrix(s.value[0], s.value[1], _dim(s.shape[0], dims), _dim(s.shape[1], dims))
           for s in symbols}
    F = to_sympy(derivative.function, env, dims)
    V = env[derivative.variable.value[0]]
    if derivative.order == 2:     # differentiate once here, once below
        F = F.diff(V[0, 0]) if V.shape == (1, 1) else sp.Matrix([sp.diff(F[0, 0], v) for v in V])
    symmetric = derivative.variable.value[1] == "symmetric"
    table = {}
    for (fa, (fi, fj)), (va, (vi, vj)) in cartesian(f_entries, v_entries):
        partial = sp.diff(F[fi, fj], V[vi, vj])
        if symmetric and vi != vj:
            partial = partial / 2           # the symmetric gradient (G + G^T) / 2
        table[fa, va] = partial
    expected = _arrange(table, f_entries, v_entries, f_axes, v_axes, layout, shape)
    got = to_sympy(derivative.expr, env, dims)
    # with inverses, expanding the difference costs far more than it proves: compare at points
    provable = not any(n.op in ("inv", "logdet", "det") for n in postorder(derivative.expr))
    rng = np.random.default_rng(seed)
    points = [_sympy_point(env, random_values(symbols, dims, rng)) for _ in range(2)]
    symbolic = numeric = 0
    for i in range(shape[0]):
        for j in range(shape[1]):
            difference = got[i, j] - expected[i, j]
            if provable and sp.count_ops(difference) <= SYMBOLIC_OPS and sp.expand(difference) == 0:
                symbolic += 1
                continue
            for point in points:
                value = complex(difference.xreplace(point).evalf(30))
                scale = 1 + abs(complex(expected[i, j].xreplace(point).evalf(30)))
                if abs(value) > TOLERANCE * scale:
                    raise CheckError(
                        f"entry ({i + 1}, {j + 1}) differs from SymPy's elementwise derivative: "
                        f"matcalc gives {got[i, j]}, SymPy {expected[i, j]}")
            numeric += 1
    return symbolic, numeric


def _sympy_point(env: dict, values: dict) -> dict:
    point = {}
    for name, matrix in env.items():
        array = np.atleast_2d(np.asarray(values[name], dtype=float))
        if array.shape != matrix.shape:
            array = array.reshape(matrix.shape)
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                point[matrix[i, j]] = sp.Float(array[i, j], 30)
    return point


def _check_finite_differences(derivative, symbols, dims, problem, seed, step=1e-6) -> float:
    f_entries, v_entries, f_axes, v_axes, layout, shape = problem
    rng = np.random.default_rng(seed + 1)
    values = random_values(symbols, dims, rng)
    name = derivative.variable.value[0]
    symmetric = derivative.variable.value[1] == "symmetric"
    base = np.atleast_2d(np.asarray(values[name], dtype=float))
    if derivative.variable.value[1] == "vector":
        base = base.reshape(-1, 1)

    def f_at(point):
        env, bound = bind(derivative.analysis.symbols, {**values, name: point})
        return evaluate(derivative.function, env, bound)

    if derivative.order == 2:     # the first derivative by central differences, then once more
        step = 1e-4
        value_at = f_at

        def f_at(point):
            slopes = []
            for k in range(point.size):
                delta = np.zeros_like(point)
                delta.flat[k] = step
                slopes.append((value_at(point + delta) - value_at(point - delta)) / (2 * step))
            return slopes[0] if point.size == 1 else np.array([[s[0, 0]] for s in slopes])

    table = {}
    for va, (vi, vj) in v_entries:
        delta = np.zeros_like(base)
        delta[vi, vj] = step
        if symmetric and vi != vj:
            delta[vj, vi] = step
        slope = (f_at(base + delta) - f_at(base - delta)) / (2 * step)
        if symmetric and vi != vj:
            slope = slope / 2
        for fa, (fi, fj) in f_entries:
            table[fa, va] = slope[fi, fj]
    expected = _arrange(table, f_entries, v_entries, f_axes, v_axes, layout, shape).astype(float)
    got = np.atleast_2d(np.asarray(derivative.evaluate({**values, name: base}), dtype=float))
    if got.shape != expected.shape:
        raise CheckError(f"the result evaluates to a {got.shape[0]} x {got.shape[1]} array, but the "
                         f"{derivative.layout} layout asks for {expected.shape[0]} x {expected.shape[1]}")
    error = np.max(np.abs(got - expected) / (1 + np.abs(expected)))
    if error > 1e-4:
        i, j = np.unravel_index(np.argmax(np.abs(got - expected)), expected.shape)
        raise CheckError(f"entry ({i + 1}, {j + 1}) differs from finite differences: "
                         f"matcalc gives {got[i, j]:.6g}, finite differences {expected[i, j]:.6g}")
    return float(error)
