"""Emit NumPy: evaluate an Expr at a point.

Contract: `evaluate(e, env, dims)` takes every variable as a 2-D float array
(vectors n x 1, scalars 1 x 1) and the sizes of symbolic dimensions, and
returns a 2-D array.  Values outside a function's domain (log of a
non-positive number, a singular inverse) raise a MatcalcError, never a
NumPy warning or a silent NaN.
"""
from __future__ import annotations

import numpy as np

from .errors import MatcalcError, NotDifferentiableError
from .expr import postorder


class DomainError(MatcalcError):
    """A value outside the domain of a function in the expression."""


def commutation_matrix(rows: int, cols: int) -> np.ndarray:
    """K with K vec(M) = vec(M^T) for rows x cols M; vec stacks columns (order "F")."""
    positions = np.arange(rows * cols).reshape(rows, cols, order="F")
    return np.eye(rows * cols)[positions.T.reshape(-1, order="F")]


def size_of(d, dims: dict) -> int:
    if isinstance(d, int):
        return d
    if d in dims:
        return dims[d]
    if d.isdigit():
        return int(d)
    if "*" in d:
        size = 1
        for part in d.split("*"):
            size *= size_of(part, dims)
        return size
    raise MatcalcError(f"the size {d} is not known from the values given")


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _positive(name, x, strict=True):
    bad = (x <= 0) if strict else (x < 0)
    if np.any(bad):
        raise DomainError(f"{name} of a {'non-positive' if strict else 'negative'} value")
    return x


_FUNCTIONS = {
    "exp": np.exp,
    "log": lambda x: np.log(_positive("log", x)),
    "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "sqrt": lambda x: np.sqrt(_positive("sqrt", x, strict=False)),
    "abs": np.abs,
    "relu": lambda x: np.maximum(x, 0),
    "softplus": lambda x: np.logaddexp(0, x),
    "sign": np.sign,
    "step": lambda x: (x > 0).astype(float),
}


def _inverse(x):
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError:
        raise DomainError("inverse of a singular matrix") from None


def _logdet(x):
    sign, value = np.linalg.slogdet(x)
    if sign <= 0:
        raise DomainError("logdet of a matrix whose determinant is not positive")
    return np.array([[value]])


def _softmax(x):
    z = np.exp(x - np.max(x))
    return z / np.sum(z)


def _power(base, p):
    if np.any(base == 0) and p < 0:
        raise DomainError("division by zero")
    if np.any(base < 0) and float(p) != int(p):
        raise DomainError("a fractional power of a negative value")
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        try:
            return np.power(base, float(p))
        except FloatingPointError:
            raise DomainError(f"a power too large for floating point (to the power {float(p):g})") from None


def evaluate(e, env: dict, dims: dict) -> np.ndarray:
    values: dict = {}
    for node in postorder(e):
        values[node] = _evaluate_node(node, [values[a] for a in node.args], env, dims)
    return values[e]


def _evaluate_node(node, args, env, dims):
    op = node.op
    if op == "sym":
        return env[node.value[0]]
    if op == "let":
        return args[0]
    if op == "num":
        return np.array([[float(node.value)]])
    if op == "I":
        return np.eye(size_of(node.shape[0], dims))
    if op == "ones":
        return np.ones((size_of(node.shape[0], dims), size_of(node.shape[1], dims)))
    if op == "zero":
        return np.zeros((size_of(node.shape[0], dims), size_of(node.shape[1], dims)))
    if op == "dim":
        return np.array([[float(size_of(node.value, dims))]])
    if op == "comm":
        return commutation_matrix(size_of(node.value[0], dims), size_of(node.value[1], dims))
    if op == "vec":
        return args[0].reshape(-1, 1, order="F")
    if op == "add":
        total = args[0]
        for a in args[1:]:
            total = total + a
        return total
    if op == "mul":
        coefficient, k = node.value
        scale = float(coefficient)
        for s in args[:k]:
            scale = scale * s[0, 0]
        chain = args[k:]
        if not chain:
            return np.array([[scale]])
        product = chain[0]
        for m in chain[1:]:
            product = product @ m
        return scale * product
    if op == "had":
        product = args[0]
        for a in args[1:]:
            product = product * a
        return product
    if op == "kron":
        product = args[0]
        for a in args[1:]:
            product = np.kron(product, a)
        return product
    if op == "T":
        return args[0].T
    if op == "inv":
        return _inverse(args[0])
    if op in ("pow", "epow"):
        return _power(args[0], args[1][0, 0])
    if op == "mpow":
        return np.linalg.matrix_power(args[0], int(args[1][0, 0]))
    if op == "fn":
        with np.errstate(over="ignore"):
            return _FUNCTIONS[node.value](args[0])
    if op == "tr":
        return np.array([[np.trace(args[0])]])
    if op == "det":
        return np.array([[np.linalg.det(args[0])]])
    if op == "logdet":
        return _logdet(args[0])
    if op == "diagm":
        return np.diagflat(args[0])
    if op == "diagv":
        return np.diag(args[0]).reshape(-1, 1).copy()
    if op == "sum":
        return np.array([[np.sum(args[0])]])
    if op == "norm":
        x = args[0]
        value = {"2": lambda: np.sqrt(np.sum(x * x)), "F": lambda: np.sqrt(np.sum(x * x)),
                 "1": lambda: np.sum(np.abs(x))}[node.value]()
        return np.array([[value]])
    if op == "softmax":
        return _softmax(args[0])
    if op == "logsumexp":
        m = np.max(args[0])
        return np.array([[m + np.log(np.sum(np.exp(args[0] - m)))]])
    if op == "entry":
        i, j = node.value
        rows, cols = args[0].shape
        if i > rows or j > cols:
            raise MatcalcError(f"entry ({i}, {j}) of a value with {rows} x {cols} entries")
        return args[0][i - 1:i, j - 1:j].copy()
    if op == "lit":
        rows, cols = size_of(node.shape[0], dims), size_of(node.shape[1], dims)
        return np.array([[a[0, 0] for a in args[r * cols:(r + 1) * cols]] for r in range(rows)])
    if op == "d":
        raise MatcalcError("a differential has no value")
    raise MatcalcError(f"cannot evaluate {op}")


def nonsmooth_points(f, env: dict, dims: dict, variable: str) -> None:
    """Raise if f is evaluated where one of its functions of the variable has no derivative.

    A norm that appears only squared (||x||^2) is smooth everywhere."""
    from .expr import symbols_in
    order = postorder(f)
    parents: dict = {}
    for node in order:
        for a in node.args:
            parents.setdefault(a, []).append(node)
    memo: dict = {}
    values: dict = {}
    for node in order:
        values[node] = _evaluate_node(node, [values[a] for a in node.args], env, dims)
        if not (node.op in ("fn", "norm") and node.value in ("abs", "relu", "sign", "step", "1", "2", "F")):
            continue
        if variable not in symbols_in(node, memo):
            continue
        if node.op == "norm" and node.value != "1" and all(
                p.op == "pow" and p.args[1].op == "num" and p.args[1].value % 2 == 0
                for p in parents.get(node, [None]) if p is not None) and node in parents:
            continue
        argument = values[node.args[0]]
        zero = np.all(argument == 0) if node.op == "norm" and node.value != "1" else np.any(argument == 0)
        if zero:
            name = node.value if node.op == "fn" else "the norm"
            raise NotDifferentiableError(f"{name} is not differentiable where its argument is 0")
