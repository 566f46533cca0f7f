"""Emit NumPy: evaluate an Expr at a point.

Contract: `evaluate(e, env, dims)` takes every variable as a 2-D float array
(vectors n x 1, scalars 1 x 1) and the sizes of symbolic dimensions, and
returns a 2-D array.  Values outside a function's domain (log of a
non-positive number, a singular inverse) raise a MatcalcError, never a
NumPy warning or a silent NaN.
"""
from __future__ import annotations

import numpy as np

from . import ops
from .errors import MatcalcError, NotDifferentiableError
from .expr import postorder, symbols_in


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
        return env[node.name]
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
    if op in ("pow", "epow"):
        return _power(args[0], args[1][0, 0])
    if op == "norm":
        x = args[0]
        value = np.sum(np.abs(x)) if node.value == "1" else np.sqrt(np.sum(x * x))
        return np.array([[value]])
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
    return apply(ops.of(node), args)


def apply(operator: ops.Operator, args: list) -> np.ndarray:
    """The table's NumPy definition of an operator on 2-D arrays (n-ary ones left to right)."""
    if operator.numpy is None:
        raise MatcalcError(f"cannot evaluate {operator.name}")
    try:
        if operator.is_function:
            with np.errstate(over="ignore"):     # exp(1000) is inf, as NumPy says
                return operator.numpy(np, args[0])
        value = operator.numpy(np, *args[:2])
        for more in args[2:]:
            value = operator.numpy(np, value, more)
        return value
    except ops.OutsideDomain as exc:
        raise DomainError(str(exc)) from None


def nonsmooth_points(f, env: dict, dims: dict, variable: str) -> None:
    """Raise if f is evaluated where one of its functions of the variable has no derivative.

    A norm that appears only squared (||x||^2) is smooth everywhere."""
    order = postorder(f)
    parents: dict = {}
    for node in order:
        for a in node.args:
            parents.setdefault(a, []).append(node)
    memo: dict = {}
    values: dict = {}
    for node in order:
        values[node] = _evaluate_node(node, [values[a] for a in node.args], env, dims)
        if node.op not in ("fn", "norm") or ops.of(node).smooth:
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
