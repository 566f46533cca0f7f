"""Cross-check a Derivative against two independent oracles.

Contract: `check(d)` instantiates the expression at small concrete sizes (a
distinct size per symbolic dimension, 2 to 4) as SymPy matrices of symbols,
differentiates it entry by entry with SymPy, arranges the entries in d's
layout and compares them with d's own result: symbolically where `expand`
settles it, else at random points; then it compares d.evaluate with central
finite differences at a random point.  It returns a CheckReport, or raises
CheckError naming the first entry that disagrees.

Points satisfy what the user assumed (`sample_point`), so a result simplified with
an assumption is compared where the assumption holds, and one simplified with a
false assumption is caught at the points where it fails:
  spd S          S = A A^T + n I for a random A (n the size), so S is symmetric positive definite;
  orthogonal Q   the Q of a QR factorisation of a random matrix, its columns' signs fixed by
                 R's diagonal (Q R with R's diagonal positive);
  diagonal D     diag(d) for a random d, entries at least 0.3 from zero;
  an equation    moved onto by one of its symbols s (not an orthogonal one, nor one an earlier
                 equation was solved for; first those without structure, then those of fewer
                 equations, then those that are not variables), the others kept, and solved
                 again in turn while a later one breaks it; an spd or diagonal s is only
                 scaled (spd by a positive factor: `spd S; assume tr(S) = 1`):
                 `Q^T Q = I` (`Q Q^T = I`) takes Q with orthonormal columns (rows), from a QR;
                 an equation of 1 x 1 sides of which one is homogeneous of degree k in s and
                 the other free of it (`sum(y) = 1`, `x^T x = 1`) scales s by the k-th root of
                 their ratio, keeping its signs (first where that grows s at most fourfold: a
                 sum near zero is shifted instead); an equation affine in the entries of s
                 (`sum(y) = 1`, `A x = b`, `tr(X) = 1`) adds to s the least-squares (smallest)
                 correction.
                 Where none applies (`sum(exp(x)) = 1`) check() refuses, saying it cannot sample
                 the equation.
Every point is then confirmed to satisfy every equation to 1e-10, both as the engine
reads it and as the user typed it (as_typed.typed_sides), or check() refuses.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import sympy as sp
from sympy.matrices.exceptions import NonInvertibleMatrixError

from . import expr as E
from . import ops
from .as_typed import NUMPY, SYMPY, typed_sides, typed_value
from .assumptions import violated
from .budget import spend
from .errors import CheckError, LimitError, MatcalcError
from .evaluate_at import bind, evaluate_at, tensor_from_vec_form
from .evaluate_numpy import DomainError, size_of
from .evaluate_sympy import symbol_matrix, to_sympy
from .expr import postorder
from .layout import axis_dims, layout_order, variable_axes
from .pipeline import derivative_of

SIZES = (2, 3, 4)
TOLERANCE = 1e-6
FD_TOLERANCE = 1e-4  # relative, or the rounding error of the differences where that is larger
SYMBOLIC_OPS = 400   # larger differences (inverses of products, say) are compared at points
# Every entry becomes a SymPy expression: a declared size (vector[1000000], x[1000000000],
# commutation(100000, 100000)) past this is refused before anything is built.
MAX_CHECK_SIZE = 16
MAX_SYMBOLIC_NESTING = 4


@dataclass
class CheckReport:
    sizes: dict
    symbolic: int
    numeric: int
    finite_difference_error: float
    sympy_skipped: str | None = None    # why the elementwise SymPy oracle did not run

    def summary(self) -> str:
        differences = (f"finite differences at a random point "
                       f"(max relative error {self.finite_difference_error:.1e})")
        if self.sympy_skipped:
            return f"{differences} · elementwise SymPy skipped: {self.sympy_skipped}"
        sizes = ", ".join(f"{d}={n}" for d, n in self.sizes.items()) or "the declared sizes"
        entries = self.symbolic + self.numeric
        how = f"{self.symbolic} symbolically" + (f", {self.numeric} at random points" if self.numeric else "")
        return f"elementwise SymPy at {sizes} ({entries} entries: {how}) · {differences}"

    __str__ = summary


def concrete_sizes(symbols, sizes=SIZES) -> dict:
    """A distinct small size per symbolic dimension, in order of appearance."""
    chosen: dict = {}
    for s in symbols:
        for d in s.shape:
            if isinstance(d, str) and "*" not in d and d not in chosen:
                chosen[d] = sizes[len(chosen) % len(sizes)]
    return chosen


ASSUMPTION_TOLERANCE = 1e-10   # how nearly a sampled point satisfies each equation (relative)
MAX_SCALE = 4.0                # a scaling of s by more than this is tried after a shift


def sample_point(derivative, symbols, dims: dict, rng, positive: bool = False) -> dict:
    """A random point (random_values) that satisfies the declared structure and the
    equations the result rests on (the module's docstring says how)."""
    analysis = derivative.analysis
    values = random_values(symbols, dims, rng, positive)
    for name, structure in analysis.structures.items():
        values[name] = _structured(structure, values[name].shape[0], rng, positive)
    equations = [(stated, a) for stated, a in analysis.equations if a in derivative.assumptions]
    if not equations:
        return values
    # an orthogonal matrix stays as sampled; an spd or diagonal one may only be scaled
    fixed = {name for name, structure in analysis.structures.items() if structure == "orthogonal"}
    variables = {v.name for v in derivative.variables}
    mentions = [E.symbols_in(a.lhs) | E.symbols_in(a.rhs) for _, a in equations]
    chosen = []

    def fewest_equations(name):     # a symbol without structure, of one equation, not a variable first
        return name in analysis.structures, sum(name in other for other in mentions), name in variables, name

    def moved_onto(assumption, name):
        return _moved_onto(assumption, analysis.symbols[name], values, dims, rng, analysis.structures.get(name))
    for (stated, assumption), names in zip(equations, mentions):
        for name in sorted(names - fixed, key=fewest_equations):
            moved = moved_onto(assumption, name)
            if moved is not None and _satisfied(analysis, stated, assumption, {**values, name: moved}, dims):
                values[name] = moved
                fixed.add(name)
                chosen.append(name)
                break
        else:
            raise _cannot_sample(stated)
    # a later equation may move a symbol an earlier one was solved with (a^T x = 1, then
    # x^T x = 1 scales x): solve each again for its own symbol, until all hold at once
    for _ in equations:
        broken = [k for k, (stated, a) in enumerate(equations) if not _satisfied(analysis, stated, a, values, dims)]
        if not broken:
            return values
        for k in range(broken[0], len(equations)):
            moved = moved_onto(equations[k][1], chosen[k])
            if moved is None:
                break
            values[chosen[k]] = moved
    raise _cannot_sample(next(stated for stated, a in equations if not _satisfied(analysis, stated, a, values, dims)))


def _cannot_sample(stated) -> MatcalcError:
    return MatcalcError(f"check() cannot sample points where {stated.text} holds: it samples "
                        f"equations affine in one symbol (sum(y) = 1), fixing a scale (x^T x = 1), or "
                        f"saying a matrix has orthonormal columns (Q^T Q = I), each in a symbol of its own")


def _structured(structure: str, n: int, rng, positive: bool) -> np.ndarray:
    if structure == "spd":
        a = rng.uniform(0.3, 1.3, size=(n, n)) if positive else rng.uniform(-1, 1, size=(n, n))
        return a @ a.T + n * np.eye(n)
    if structure == "orthogonal":
        return _orthonormal_columns(n, n, rng)
    signs = np.ones(n) if positive else rng.choice((-1.0, 1.0), size=n)
    return np.diag(rng.uniform(0.3, 1.3, size=n) * signs)


def _orthonormal_columns(rows: int, cols: int, rng) -> np.ndarray:
    """Q of Q R = a random matrix, with R's diagonal made positive (so Q is Haar-distributed)."""
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def _moved_onto(assumption, symbol, values: dict, dims: dict, rng, structure: str | None = None):
    """A new value of `symbol` with which the equation holds, the other symbols kept; None
    where the equation is none of the forms sample_point knows in this symbol.  A symbol
    with a structure is only scaled, as that keeps it diagonal (spd: by a positive factor)."""
    lhs, rhs, _ = assumption
    rows, cols = (size_of(d, dims) for d in symbol.shape)
    if rhs.op == "I" and lhs in (E.mul(E.transpose(symbol), symbol), E.mul(symbol, E.transpose(symbol))):
        columns = lhs.args[1] is symbol and lhs.args[0] is not symbol
        if (rows >= cols) if columns else (cols >= rows):
            return _orthonormal_columns(rows, cols, rng) if columns else _orthonormal_columns(cols, rows, rng).T
        # no solution at these sizes (a wide Q has no orthonormal columns): check tries others
        raise DomainError(f"{assumption.text} has no solution where {symbol.name} is {rows} x {cols}")
    env = {s.name: _numbers(s, values) for s in _symbols(assumption)}
    env[symbol.name] = symbol_matrix(symbol.name, symbol.kind, rows, cols)
    unknowns = sorted(env[symbol.name].free_symbols, key=str)
    left, right = to_sympy(lhs, env, dims), to_sympy(rhs, env, dims)
    start = np.asarray(values[symbol.name], dtype=float).reshape(rows, cols)
    at_start = _at(env[symbol.name], start)
    scaled = _scaled(left, right, unknowns, start, at_start)
    if structure is not None:
        return scaled[0] if scaled is not None and (scaled[2] > 0 or structure == "diagonal") else None
    if scaled is not None and scaled[1] <= MAX_SCALE:
        return scaled[0]
    shifted = _shifted(left - right, unknowns, env[symbol.name], start, at_start)
    if shifted is not None:
        return shifted
    return scaled[0] if scaled is not None else None


def _symbols(assumption) -> list:
    return [n for side in assumption[:2] for n in postorder(side) if n.op == "sym"]


def _numbers(symbol, values: dict) -> sp.Matrix:
    array = np.atleast_2d(np.asarray(values[symbol.name], dtype=float))
    if symbol.kind == "vector":
        array = array.reshape(-1, 1)
    return sp.Matrix(*array.shape, lambda i, j: sp.Float(array[i, j], 30))


def _at(matrix: sp.Matrix, array: np.ndarray) -> dict:
    """Each symbol of `matrix` -> its number in `array` (a symmetric matrix repeats symbols)."""
    return {matrix[i, j]: sp.Float(array[i, j], 30) for i in range(matrix.rows) for j in range(matrix.cols)}


def _polynomials(entries, unknowns):
    try:
        return [sp.Poly(e, *unknowns) for e in entries]
    except sp.PolynomialError:
        return None


def _scaled(left, right, unknowns, start, at_start):
    """(c s, |c|, c) with which a 1 x 1 equation holds, one side homogeneous of degree k in s."""
    if left.shape != (1, 1):
        return None
    moving, other = (left, right) if left[0, 0].free_symbols & set(unknowns) else (right, left)
    if other[0, 0].free_symbols & set(unknowns):
        return None
    polynomials = _polynomials([moving[0, 0]], unknowns)
    if not polynomials or not polynomials[0].is_homogeneous or polynomials[0].total_degree() < 1:
        return None
    degree = polynomials[0].total_degree()
    now, wanted = float(moving[0, 0].xreplace(at_start)), float(other[0, 0])
    if abs(now) < 1e-3 or wanted == 0:
        return None
    ratio = wanted / now
    if ratio < 0 and degree % 2 == 0:
        return None
    c = np.sign(ratio) * abs(ratio) ** (1 / degree)
    return c * start, abs(c), c


def _shifted(residual, unknowns, matrix, start, at_start):
    """s plus the least-squares correction, where the residual is affine in the entries of s."""
    entries = list(residual)
    polynomials = _polynomials(entries, unknowns)
    if polynomials is None or any(p.total_degree() > 1 for p in polynomials):
        return None
    jacobian = np.array(sp.Matrix(entries).jacobian(unknowns).xreplace(at_start), dtype=float)
    now = np.array([float(e.xreplace(at_start)) for e in entries])
    step = dict(zip(unknowns, np.linalg.lstsq(jacobian, -now, rcond=None)[0]))
    return start + np.array([[step[matrix[i, j]] for j in range(matrix.cols)] for i in range(matrix.rows)])


def _satisfied(analysis, stated, assumption, values: dict, dims: dict) -> bool:
    """Whether the point satisfies the equation, read by the engine and as typed."""
    env, bound = bind(analysis.symbols, values)
    if violated((assumption,), env, bound, ASSUMPTION_TOLERANCE):
        return False
    left, right = np.broadcast_arrays(*typed_sides(analysis, stated, env, bound, NUMPY))
    return np.max(np.abs(left - right)) <= ASSUMPTION_TOLERANCE * (1 + np.max(np.abs(right)))


# Some expressions are undefined at some sizes (X^T X is singular when X is 2 x 3):
# try the sizes in another order before giving up.
SIZE_ORDERS = (SIZES, (3, 2, 4), (2, 4, 3), (4, 3, 2))


def random_values(symbols, dims: dict, rng, positive: bool = False) -> dict:
    """A point away from the kinks of abs, sign and relu: entries of both signs, at least
    0.3 from zero, and diagonally dominant (so invertible, with positive determinant) square
    matrices; with positive=True every entry is positive (for log(x), sqrt(X)).  Both signs
    come first: at positive points alone |x| and x, (x .^ 2) .^ 0.5 and x, look the same."""
    values = {}

    def signs(size):
        return np.ones(size) if positive else rng.choice((-1.0, 1.0), size=size)
    for s in symbols:
        name, kind = s.value
        rows, cols = size_of(s.shape[0], dims), size_of(s.shape[1], dims)
        if kind == "scalar":
            values[name] = float(rng.uniform(0.5, 1.5) * signs(1)[0])
        elif kind == "vector":
            values[name] = rng.uniform(0.3, 1.3, size=rows) * signs(rows)
        else:
            m = rng.uniform(0.3, 1.3, size=(rows, cols)) if positive else rng.uniform(-1, 1, size=(rows, cols))
            if kind == "symmetric":
                m = (m + m.T) / 2
            if rows == cols:
                m = m + rows * np.eye(rows)
            values[name] = m
    return values


def _entries(e, axis_count: int) -> list:
    """(index on the axes, (row, col) in the 2-D value) for each entry of e."""
    rows, cols = e if isinstance(e, tuple) else e.shape
    if axis_count == 0:
        return [((), (0, 0))]
    if axis_count == 1:
        length = rows if cols == 1 else cols
        return [((i,), (i, 0) if cols == 1 else (0, i)) for i in range(length)]
    return [((i, j), (i, j)) for i in range(rows) for j in range(cols)]


def _result_shape(sizes: list, f_axes: int, v_axes: int, layout: str) -> tuple:
    """The shape SYNTAX.md gives the result: the layout's order of the axis lengths; a
    one-axis result is a column, except numerator by a vector and denominator of a vector."""
    ordered = [sizes[k] for k in layout_order(f_axes, v_axes, layout)]
    if len(ordered) == 0:
        return (1, 1)
    if len(ordered) == 1:
        row = (layout == "numerator" and v_axes == 1) or (layout == "denominator" and f_axes == 1)
        return (1, ordered[0]) if row else (ordered[0], 1)
    return tuple(ordered)


def check(derivative, seed: int = 0) -> CheckReport:
    symbols = list(derivative.analysis.symbols.values())
    _refuse_large_sizes(derivative)
    problems = []
    for positive in (False, True):
        for order in SIZE_ORDERS:
            dims = concrete_sizes(symbols, order)
            try:
                return _check_at(derivative, symbols, dims, seed, positive)
            except (ZeroDivisionError, NonInvertibleMatrixError, DomainError) as exc:
                where = ", ".join(f"{d}={n}" for d, n in dims.items())
                problems.append(f"{where}{' with positive entries' if positive else ''}: {exc}")
    raise CheckError("the expression is undefined at every size tried (" + "; ".join(problems) + ")")


def _refuse_large_sizes(derivative) -> None:
    fixed = {d for node in postorder(derivative.function) for d in
             (*node.shape, *(node.value if node.op == "comm" else ())) if isinstance(d, int)}
    fixed |= {int(part) for node in postorder(derivative.function) for d in node.shape
              if isinstance(d, str) for part in d.split("*") if part.isdigit()}
    if fixed and max(fixed) > MAX_CHECK_SIZE:
        raise LimitError(f"check() builds every entry in SymPy; a size of {max(fixed)} is past its limit "
                         f"of {MAX_CHECK_SIZE}: check the expression with symbolic sizes (vector[n])")


class Arrangement(NamedTuple):
    """How many axes the last step's function and variable have, and the layout."""
    f_axes: int
    v_axes: int
    layout: str
    shape: tuple


def _check_at(derivative, symbols, dims, seed, positive) -> CheckReport:
    sizes = [size_of(d, dims) for d in derivative.f_axes + derivative.v_axes]
    f_axes, v_axes, layout = len(derivative.f_axes), len(derivative.v_axes), derivative.layout
    expected_shape = _result_shape(sizes, f_axes, v_axes, layout)
    result_shape = tuple(size_of(d, dims) for d in derivative.shape)
    if result_shape != expected_shape:
        raise CheckError(f"the result is {_fmt(result_shape)}, but the {layout} layout "
                         f"asks for {_fmt(expected_shape)}")
    problem = Arrangement(f_axes, v_axes, layout, expected_shape)
    # finite differences first: cheap, and they find sizes where f is undefined
    error = _check_finite_differences(derivative, symbols, dims, problem, seed, positive)
    nesting = function_nesting(derivative.function)
    if nesting > MAX_SYMBOLIC_NESTING:
        return CheckReport(dims, 0, 0, error, f"functions nested {nesting} deep, past the "
                                              f"{MAX_SYMBOLIC_NESTING} that SymPy differentiates in time")
    symbolic, numeric = _check_sympy(derivative, symbols, dims, problem, seed, positive)
    return CheckReport(dims, symbolic, numeric, error)


def function_nesting(e) -> int:
    """How many functions (tanh, inv, softmax, ...) lie inside one another at most: SymPy's
    work on an entry grows exponentially with it (a 5-layer network takes 30 s, 8 minutes)."""
    depth: dict = {}
    for node in postorder(e):
        inner = max((depth[a] for a in node.args), default=0)
        depth[node] = inner + ops.of(node).grows_in_sympy
    return depth[e]


def _typed_numpy(derivative, point: dict):
    env, dims = bind(derivative.analysis.symbols, point)
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        try:
            return typed_value(derivative.analysis, env, dims, NUMPY)
        except FloatingPointError as exc:
            raise DomainError(f"the expression is undefined at the point ({exc})") from None


def _fmt(shape) -> str:
    return " x ".join(str(n) for n in shape)


def _in_layout(tensor: np.ndarray, problem: Arrangement) -> np.ndarray:
    """T[f axes..., variable axes...] in the layout's order, shaped as the result."""
    return np.transpose(tensor, layout_order(problem.f_axes, problem.v_axes, problem.layout)).reshape(problem.shape)


def _partials(shape: tuple, variable_entries: list, partial) -> np.ndarray:
    """One more axis group: T'[a..., b...] = partial(a, b, (row, col) of entry b)."""
    sizes = [max(index[k] for index, _ in variable_entries) + 1 for k in range(len(variable_entries[0][0]))]
    out = np.empty(shape + tuple(sizes), dtype=object)
    for index in np.ndindex(*shape):
        for v_index, place in variable_entries:
            out[index + v_index] = partial(index, v_index, place)
    return out


def _function_table(value, count: int) -> np.ndarray:
    """The entries of a 2-D value (SymPy or NumPy) on f's axes."""
    table = np.empty(tuple(max(i[k] for i, _ in _entries(value.shape, count)) + 1 for k in range(count)),
                     dtype=object)
    for index, (i, j) in _entries(value.shape, count):
        table[index] = value[i, j]
    return table


def _check_sympy(derivative, symbols, dims, problem, seed, positive):
    rng = np.random.default_rng(seed)
    points = [sample_point(derivative, symbols, dims, rng, positive) for _ in range(2)]
    if _has_inverses(derivative):
        # an inverse of a matrix of symbols grows past what SymPy differentiates in time (and
        # expanding it proves little): at each point, SymPy differentiates exactly along one
        # entry of each variable at a time, everything else a number
        for values in points:
            expected, got = _directional_tables(derivative, symbols, dims, problem, values)
            _compare(expected, got, [{}], provable=False)
        return 0, expected.size
    env = _environment(symbols, dims)
    expected, got = _tables(derivative, env, dims, problem)
    return _compare(expected, got, [_sympy_point(env, values) for values in points], provable=True)


def _has_inverses(derivative) -> bool:
    result = derivative.vec_expression() if derivative.is_tensor else derivative.expr
    return any(ops.of(n).inverse_in_derivative for e in (derivative.function, result) for n in postorder(e))


def _environment(symbols, dims, fixed: dict | None = None) -> dict:
    """Each symbol as a SymPy matrix: of symbols, or of the numbers in `fixed` where given."""
    env = {}
    for s in symbols:
        name, kind = s.value
        rows, cols = size_of(s.shape[0], dims), size_of(s.shape[1], dims)
        if fixed is not None:
            array = np.asarray(fixed[name], dtype=float).reshape(rows, cols)
            env[name] = sp.Matrix(rows, cols, lambda i, j, a=array: sp.Float(a[i, j], 30))
        else:
            env[name] = symbol_matrix(name, kind, rows, cols)
    return env


def _tables(derivative, env, dims, problem):
    """(SymPy's elementwise derivative of what the user typed, matcalc's result), both as
    arrays of SymPy entries in the layout's shape."""
    F = typed_value(derivative.analysis, env, dims, SYMPY)
    table = _function_table(F, len(axis_dims(derivative.function)))
    for variable in derivative.variables:
        V = env[variable.name]
        halve = variable.kind == "symmetric" and derivative.symmetric_as == "gradient"

        def partial(index, v_index, place, table=table, V=V, halve=halve):
            # a symmetric matrix has one symbol for S_ij and S_ji: diff gives the sum of both
            # partials (the "entries" convention); the symmetric gradient is half of it
            spend()
            d = _away_from_jumps(sp.diff(table[index], V[place]))
            return d / 2 if halve and place[0] != place[1] else d
        table = _partials(table.shape, _entries(V.shape, variable_axes(variable)), partial)
    expected = _in_layout(table, problem)
    return expected, _result_table(derivative, env, dims, expected.shape)


def _directional_tables(derivative, symbols, dims, problem, values):
    """(SymPy's derivative of what the user typed, matcalc's result) at the point `values`:
    for each entry of each variable, the variable moves by epsilon along that entry alone
    and SymPy differentiates by the epsilons, so it never sees a matrix of symbols."""
    base = _environment(symbols, dims, values)
    epsilons = sp.symbols(f"epsilon0:{len(derivative.variables)}", real=True)
    entry_lists = [_entries(base[v.name].shape, variable_axes(v)) for v in derivative.variables]
    f_count = len(axis_dims(derivative.function))
    cells = {}
    for combination in itertools.product(*entry_lists):
        spend()
        env, scale = dict(base), sp.S.One
        for epsilon, variable, (_, (i, j)) in zip(epsilons, derivative.variables, combination):
            name, kind = variable.value
            direction = sp.zeros(*env[name].shape)
            direction[i, j] = 1
            if kind == "symmetric":     # S_ij and S_ji move together; the gradient halves it
                direction[j, i] = 1
                if derivative.symmetric_as == "gradient" and i != j:
                    scale /= 2
            env[name] = env[name] + epsilon * direction
        F = typed_value(derivative.analysis, env, dims, SYMPY)
        for epsilon in epsilons:
            F = F.applyfunc(lambda e, epsilon=epsilon: _away_from_jumps(sp.diff(e, epsilon)))
        table = _function_table(F.subs({epsilon: 0 for epsilon in epsilons}), f_count)
        v_index = sum((index for index, _ in combination), ())
        for f_index in np.ndindex(*table.shape):
            cells[f_index + v_index] = table[f_index] * scale
    shape = tuple(max(index[k] for index in cells) + 1 for k in range(len(next(iter(cells)))))
    tensor = np.empty(shape, dtype=object)
    for index, value in cells.items():
        tensor[index] = value
    expected = _in_layout(tensor, problem)
    return expected, _result_table(derivative, base, dims, expected.shape)


def _result_table(derivative, env, dims, shape):
    """matcalc's result in SymPy, in the layout's shape."""
    if derivative.is_tensor:
        got = tensor_from_vec_form(np.array(to_sympy(derivative.vec_expression(), env, dims), dtype=object),
                                   derivative, dims)
    else:
        got = np.array(to_sympy(derivative.expr, env, dims), dtype=object)
    return got.reshape(shape)


def _away_from_jumps(e):
    """sign and step are constant away from 0, and check's points lie there (evaluate refuses
    the others): SymPy leaves d sign(g(x))/dx unevaluated and writes DiracDelta; both are 0."""
    jumps = (sp.sign, sp.Heaviside)
    e = e.replace(lambda n: isinstance(n, sp.Derivative) and isinstance(n.expr, jumps), lambda n: sp.S.Zero)
    return e.replace(sp.DiracDelta, lambda *arguments: sp.S.Zero)


def _compare(expected, got, points, provable: bool) -> tuple:
    """(entries equal symbolically, entries equal at every point); CheckError at the first other."""
    symbolic = numeric = 0
    for index, want in np.ndenumerate(expected):
        spend()
        difference = got[index] - want
        if provable and sp.count_ops(difference) <= SYMBOLIC_OPS and sp.expand(difference) == 0:
            symbolic += 1
            continue
        for point in points:
            value = complex(difference.xreplace(point).evalf(30))
            scale = 1 + abs(complex(want.xreplace(point).evalf(30)))
            if abs(value) > TOLERANCE * scale:
                raise CheckError(
                    f"entry {_place(index)} differs from SymPy's elementwise derivative: "
                    f"matcalc gives {got[index]}, SymPy {want}")
        numeric += 1
    return symbolic, numeric


def _place(index: tuple) -> str:
    return "(" + ", ".join(str(i + 1) for i in index) + ")"


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


def _check_finite_differences(derivative, symbols, dims, problem, seed, positive) -> float:
    """Central differences of f by each variable in turn (nested for a second derivative);
    from the third on, of matcalc's own derivative one order lower, itself checked."""
    rng = np.random.default_rng(seed + 1)
    values = sample_point(derivative, symbols, dims, rng, positive)
    variables = derivative.variables
    if len(variables) <= 2:
        start, table_at = 0, lambda point: _function_table(_typed_numpy(derivative, point),
                                                           len(axis_dims(derivative.function)))
        step = 1e-6 if len(variables) == 1 else 1e-4
    else:
        lower = derivative_of(derivative.analysis, [v.name for v in variables[:-1]], "mixed",
                              symmetric_as=derivative.symmetric_as)
        start, step = len(variables) - 1, 1e-6

        def table_at(point):
            value = np.asarray(evaluate_at(lower, point), dtype=float)
            return value.reshape([size_of(d, dims) for d in lower.shape]).astype(object)

    def derivative_table(point, level):
        if level == start:
            return table_at(point)
        variable = variables[level - 1]
        name = variable.name
        base = np.atleast_2d(np.asarray(point[name], dtype=float))
        if variable.kind == "vector":
            base = base.reshape(-1, 1)
        halve = variable.kind == "symmetric" and derivative.symmetric_as == "gradient"
        entries = _entries(base.shape, variable_axes(variable))
        slopes = {}
        for v_index, (i, j) in entries:
            delta = np.zeros_like(base)
            delta[i, j] = step
            if variable.kind == "symmetric":
                delta[j, i] = step
            slope = (derivative_table({**point, name: base + delta}, level - 1)
                     - derivative_table({**point, name: base - delta}, level - 1)) / (2 * step)
            slopes[v_index] = slope / 2 if halve and i != j else slope
        some = next(iter(slopes.values()))
        return _partials(some.shape, entries, lambda index, v_index, place: slopes[v_index][index])

    expected = _in_layout(derivative_table(values, len(variables)), problem).astype(float)
    got = np.asarray(evaluate_at(derivative, values), dtype=float).reshape(-1)
    if got.size != expected.size:
        raise CheckError(f"the result evaluates to {got.size} numbers, but the {derivative.layout} "
                         f"layout asks for {_fmt(expected.shape)}")
    got = got.reshape(expected.shape)
    # a central difference of values as large as |f| carries a rounding error of about
    # eps |f| / h per level of differencing (exp(C .^ 2) ~ 1e12 at check's points)
    magnitude = np.max(np.abs(np.asarray(table_at(values), dtype=float)), initial=0.0)
    rounding = 1e3 * np.finfo(float).eps * (1 + magnitude) / step ** (len(variables) - start)
    relative = np.abs(got - expected) / (1 + np.abs(expected) + rounding / FD_TOLERANCE)
    error = np.max(relative)
    if error > FD_TOLERANCE:
        index = np.unravel_index(np.argmax(relative), expected.shape)
        raise CheckError(f"entry {_place(index)} differs from finite differences: "
                         f"matcalc gives {got[index]:.6g}, finite differences {expected[index]:.6g}")
    return float(error)
